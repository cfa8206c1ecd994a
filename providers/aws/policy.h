/* policy.h: the AWS provider's policy() (driver.h, struct provider): the permissions of the AWS
 * drivers a spec uses as one IAM policy document, for `mesh resources --iam-policy`. */
#ifndef MESH_AWS_POLICY_H
#define MESH_AWS_POLICY_H

#include <jansson.h>

/* request: {"permissions": ["ec2:CreateVpc", ...] sorted and unique, "resources": [{"address",
 * "type", "attributes"}], "config": the mesh: section or null}. Returns a new document:
 * {"Version": "2012-10-17", "Statement": [...]}: one statement per service ("Sid" its name, the
 * sorted actions, Resource "*"), then iam:PassRole narrowed to the roles the spec hands to a
 * service and iam:CreateServiceLinkedRole to EKS's service-linked roles (both with conditions). */
json_t *aws_policy_document(const json_t *request);
/* One Allow statement: {"Sid", "Effect": "Allow", "Action": actions, "Resource": resource} and
 * "Condition" when given (all three taken). */
json_t *aws_policy_statement(const char *sid, json_t *actions, json_t *resource, json_t *condition);

#endif
