/* cli_rpc.h — time-cli's live commands: any RPC method by name, and the wallet (keygen, address,
 * balance, send). time_cli.c keeps the offline commands and hands everything else here. */
#ifndef TD_CLI_RPC_H
#define TD_CLI_RPC_H

#include <stdbool.h>

/* time-cli [-option=value...] COMMAND ARGS...: 0, 1 (an RPC error or no finality) or 2 (usage). */
int td_cli_main(int argc, char **argv);

#endif
