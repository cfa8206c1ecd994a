/* main.c: placeholder until the command table lands. */
#include <stdio.h>
int main(void) { puts("mesh"); return 0; }
