-- placeholder; state/ owner fills the migrations
SELECT 1;
