/* config.h — timed's configuration: the keys of config.toml (docs/OPERATING.md lists each with
 * its default), their checks, and the defaults.
 *
 * td_config_load reads the file through the TOML shim (toml_shim.h) and checks every item
 * against the schema: an unknown key, a wrong type or an out-of-range value is refused with
 * "FILE:LINE:COLUMN: message" in err, and the caller exits 2. Relative paths (data_dir, genesis,
 * masternode.key_file) are taken from the folder of the config file, so a testnet folder can be
 * moved whole.
 */
#ifndef TD_CONFIG_H
#define TD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "node.h"

#define TD_PATH_MAX  1024
#define TD_PEERS_MAX 64
#define TD_CRED_MAX  128

typedef enum { TD_LOG_DEBUG = 0, TD_LOG_INFO = 1, TD_LOG_WARN = 2, TD_LOG_ERROR = 3 } td_log_level;
typedef enum { TD_LOG_TEXT = 0, TD_LOG_JSON = 1 } td_log_format;

typedef struct {
    char network[16];                  /* "testnet" or "mainnet"; must be the genesis's */
    char data_dir[TD_PATH_MAX];        /* required */
    char genesis[TD_PATH_MAX];         /* required: the genesis.json `time-cli genesis` wrote */
    char p2p_listen[TC_NODE_ADDR_MAX]; /* "" : do not listen */
    uint32_t peer_count;
    char peers[TD_PEERS_MAX][TC_NODE_ADDR_MAX];
    uint64_t max_inbound;
    uint64_t max_outbound;
    char rpc_listen[TC_NODE_ADDR_MAX]; /* read and checked; served from issue 11 on */
    char rpc_user[TD_CRED_MAX];
    char rpc_password[TD_CRED_MAX];
    char key_file[TD_PATH_MAX]; /* masternode.key_file; "" : a full node with a fresh key */
    td_log_level log_level;
    td_log_format log_format;
    char log_file[TD_PATH_MAX];            /* log.file: "" is stderr */
    char metrics_listen[TC_NODE_ADDR_MAX]; /* read and checked; served from issue 11 on */
    uint64_t map_size_mib;                 /* store.map_size_mib */
    uint64_t frame_size_max;               /* limits.*: an operator may tighten, never widen */
    uint64_t output_buffer_max;
    uint64_t handshake_timeout_ms;
    uint64_t pending_per_host; /* inbound connections of one host not READY yet */
    uint64_t reconnect_min_ms;
    uint64_t reconnect_max_ms;
    bool verify_pool; /* verify.pool: signature checks on worker threads (verify_pool.h) */
} td_config;

/* Fills c with the defaults (network testnet, everything else per docs/OPERATING.md). */
void td_config_defaults(td_config *c);
/* Loads and checks path into c. 0, or -1 with "PATH:LINE:COLUMN: message" in err. */
int td_config_load(const char *path, td_config *c, char *err, size_t err_len);
/* Writes c as one JSON line on f (--check-config prints it: tests compare it with tomllib). */
void td_config_print_json(const td_config *c, FILE *f);
/* Splits "host:port" (IPv4 literal, or "localhost") into a dotted quad and a port. 0 or -1. */
int td_addr_split(const char *addr, char host[16], uint16_t *port);

#endif
