/* policy_offline.h - the offline halves of `tollgate policy`: `check`
 * (parse and lint a policy file) and `eval` (decide requests against local
 * policy and entity files with Tollgate's own engine, no broker). argv[0] is
 * the name getopt's messages start with; both return the process exit
 * code (0 fine, 1 errors, 2 usage). */
#ifndef TG_CLI_POLICY_OFFLINE_H
#define TG_CLI_POLICY_OFFLINE_H

int policy_check_main(int argc, char **argv);
int policy_eval_main(int argc, char **argv);

#endif
