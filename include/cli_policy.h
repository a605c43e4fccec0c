/*
 * cli_policy.h: `toolgate policy explain`: the decision and the deciding
 * rules for a call, without running anything (what `sudo -l` is to sudo).
 */
#ifndef TOOLGATE_CLI_POLICY_H
#define TOOLGATE_CLI_POLICY_H

/* argv[0] is "explain"; returns the exit code: 0 permitted, 3 refused,
   1 the configuration does not load, 2 usage. */
int cli_policy_explain(int argc, char **argv);

#endif
