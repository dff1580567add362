/* config.c — the schema of config.toml and its checks (config.h). */
#include "config.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "toml_shim.h"

typedef enum { K_TABLE, K_STRING, K_PATH, K_ADDR, K_INT, K_PEERS, K_ENUM, K_BOOL } key_kind;

/* One key of the schema: where its value goes and what it may hold. */
typedef struct {
    const char *path;
    key_kind kind;
    size_t off;  /* into td_config */
    size_t size; /* STRING, PATH, ADDR: the field's size (text must be shorter) */
    uint64_t min, max;
    const char *const *choices; /* ENUM: NULL-terminated; the field is an int (the index) */
} key_spec;

static const char *const networks[] = {"testnet", "mainnet", NULL};
static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const formats[] = {"text", "json", NULL};

#define F(field) offsetof(td_config, field), sizeof(((td_config *)0)->field)

static const key_spec schema[] = {
    {"network", K_STRING, F(network), 0, 0, networks},
    {"data_dir", K_PATH, F(data_dir), 0, 0, NULL},
    {"genesis", K_PATH, F(genesis), 0, 0, NULL},
    {"p2p", K_TABLE, 0, 0, 0, 0, NULL},
    {"p2p.listen", K_ADDR, F(p2p_listen), 0, 0, NULL},
    {"p2p.peers", K_PEERS, 0, 0, 0, TD_PEERS_MAX, NULL},
    {"p2p.max_inbound", K_INT, F(max_inbound), 0, 1024, NULL},
    {"p2p.max_outbound", K_INT, F(max_outbound), 0, 256, NULL},
    {"rpc", K_TABLE, 0, 0, 0, 0, NULL},
    {"rpc.listen", K_ADDR, F(rpc_listen), 0, 0, NULL},
    {"rpc.user", K_STRING, F(rpc_user), 0, 0, NULL},
    {"rpc.password", K_STRING, F(rpc_password), 0, 0, NULL},
    {"masternode", K_TABLE, 0, 0, 0, 0, NULL},
    {"masternode.key_file", K_PATH, F(key_file), 0, 0, NULL},
    {"log", K_TABLE, 0, 0, 0, 0, NULL},
    {"log.level", K_ENUM, F(log_level), 0, 0, levels},
    {"log.format", K_ENUM, F(log_format), 0, 0, formats},
    {"log.file", K_PATH, F(log_file), 0, 0, NULL},
    {"metrics", K_TABLE, 0, 0, 0, 0, NULL},
    {"metrics.listen", K_ADDR, F(metrics_listen), 0, 0, NULL},
    {"store", K_TABLE, 0, 0, 0, 0, NULL},
    {"store.map_size_mib", K_INT, F(map_size_mib), 16, 1u << 20, NULL},
    {"limits", K_TABLE, 0, 0, 0, 0, NULL},
    {"limits.frame_size_max", K_INT, F(frame_size_max), 1024, 4u << 20, NULL},
    {"limits.output_buffer_max", K_INT, F(output_buffer_max), 64u << 10, 1u << 30, NULL},
    {"limits.handshake_timeout_ms", K_INT, F(handshake_timeout_ms), 100, 10000, NULL},
    {"limits.pending_per_host", K_INT, F(pending_per_host), 1, 1024, NULL},
    {"limits.reconnect_min_ms", K_INT, F(reconnect_min_ms), 10, 600000, NULL},
    {"limits.reconnect_max_ms", K_INT, F(reconnect_max_ms), 10, 3600000, NULL},
    {"verify", K_TABLE, 0, 0, 0, 0, NULL},
    {"verify.pool", K_BOOL, F(verify_pool), 0, 0, NULL},
};

void td_config_defaults(td_config *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->network, "testnet");
    c->max_inbound = 64;
    c->max_outbound = 16;
    strcpy(c->rpc_listen, "127.0.0.1:24101");
    c->log_level = TD_LOG_INFO;
    c->log_format = TD_LOG_TEXT;
    c->map_size_mib = 1024;
    c->frame_size_max = 4u << 20;
    c->output_buffer_max = 16u << 20;
    c->handshake_timeout_ms = 10000;
    c->pending_per_host = 8;
    c->reconnect_min_ms = 500;
    c->reconnect_max_ms = 30000;
    c->verify_pool = true;
}

int td_addr_split(const char *addr, char host[16], uint16_t *port)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || (size_t)(colon - addr) >= 16)
        return -1;
    char h[16];
    memcpy(h, addr, (size_t)(colon - addr));
    h[colon - addr] = 0;
    if (strcmp(h, "localhost") == 0)
        strcpy(h, "127.0.0.1");
    struct in_addr in;
    uint32_t p = 0;
    if (inet_pton(AF_INET, h, &in) != 1 || tc_parse_u32(colon + 1, 1, 65535, &p) != 0)
        return -1;
    strcpy(host, h);
    *port = (uint16_t)p;
    return 0;
}

static const key_spec *find_spec(const char *path)
{
    for (size_t k = 0; k < TC_ARRAY_LEN(schema); k++)
        if (strcmp(schema[k].path, path) == 0)
            return &schema[k];
    return NULL;
}

/* Joins a relative path to the config file's folder. */
static int resolve_path(const char *config_path, const char *value, char *out, size_t size)
{
    const char *slash = strrchr(config_path, '/');
    int n;
    if (value[0] == '/' || slash == NULL)
        n = snprintf(out, size, "%s", value);
    else
        n = snprintf(out, size, "%.*s/%s", (int)(slash - config_path), config_path, value);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Checks one string item against spec and stores it. NULL, or a message. */
static const char *set_string(td_config *c, const char *config_path, const key_spec *s,
                              const tc_toml_item *it, char *why, size_t why_len)
{
    char *field = (char *)c + s->off;
    if (strlen(it->str) != it->len)
        return "a NUL byte inside the string";
    if (s->kind == K_ENUM || s->choices != NULL) {
        for (size_t k = 0; s->choices[k] != NULL; k++) {
            if (strcmp(it->str, s->choices[k]) != 0)
                continue;
            if (s->kind == K_ENUM)
                *(int *)(void *)field = (int)k;
            else
                snprintf(field, s->size, "%s", it->str);
            return NULL;
        }
        snprintf(why, why_len, "%s must be one of", s->path);
        for (size_t k = 0; s->choices[k] != NULL; k++)
            snprintf(why + strlen(why), why_len - strlen(why), "%s \"%s\"", k ? "," : "",
                     s->choices[k]);
        return why;
    }
    if (s->kind == K_PATH) {
        if (it->len == 0)
            return "an empty path";
        return resolve_path(config_path, it->str, field, s->size) == 0 ? NULL : "path too long";
    }
    if (it->len >= s->size)
        return "string too long";
    char host[16];
    uint16_t port;
    if (s->kind == K_ADDR && it->len > 0 && td_addr_split(it->str, host, &port) != 0) {
        snprintf(why, why_len, "%s: expected \"IPV4:PORT\" with a port in 1..65535, got \"%s\"",
                 s->path, it->str);
        return why;
    }
    memcpy(field, it->str, it->len + 1);
    return NULL;
}

/* Checks one item; NULL when it is good, else the message. */
static const char *check_item(td_config *c, const char *config_path, const tc_toml_item *it,
                              char *why, size_t why_len)
{
    const char *br = strchr(it->path, '[');
    if (br != NULL && strncmp(it->path, "p2p.peers[", 10) == 0) {
        if (it->kind != TC_TOML_STRING)
            return "p2p.peers: each peer must be a string \"IPV4:PORT\"";
        char host[16];
        uint16_t port;
        if (it->len >= TC_NODE_ADDR_MAX || td_addr_split(it->str, host, &port) != 0) {
            snprintf(why, why_len, "p2p.peers: expected \"IPV4:PORT\", got \"%s\"", it->str);
            return why;
        }
        memcpy(c->peers[c->peer_count++], it->str, it->len + 1);
        return NULL;
    }
    const key_spec *s = find_spec(it->path);
    if (s == NULL) {
        snprintf(why, why_len, "unknown key %s", it->path);
        return why;
    }
    tc_toml_kind want = s->kind == K_TABLE   ? TC_TOML_TABLE
                        : s->kind == K_PEERS ? TC_TOML_ARRAY
                        : s->kind == K_INT   ? TC_TOML_INTEGER
                        : s->kind == K_BOOL  ? TC_TOML_BOOL
                                             : TC_TOML_STRING;
    if (it->kind != want) {
        snprintf(why, why_len, "%s must be %s %s, not %s %s", s->path,
                 want == TC_TOML_INTEGER || want == TC_TOML_ARRAY ? "an" : "a",
                 tc_toml_kind_name(want),
                 it->kind == TC_TOML_INTEGER || it->kind == TC_TOML_ARRAY ? "an" : "a",
                 tc_toml_kind_name(it->kind));
        return why;
    }
    if (s->kind == K_TABLE)
        return NULL;
    if (s->kind == K_BOOL) {
        *(bool *)(void *)((char *)c + s->off) = it->b;
        return NULL;
    }
    if (s->kind == K_PEERS) {
        if (it->len > s->max) {
            snprintf(why, why_len, "p2p.peers: at most %llu peers", (unsigned long long)s->max);
            return why;
        }
        return NULL;
    }
    if (s->kind == K_INT) {
        if (it->i < 0 || (uint64_t)it->i < s->min || (uint64_t)it->i > s->max) {
            snprintf(why, why_len, "%s must be in %llu..%llu, got %lld", s->path,
                     (unsigned long long)s->min, (unsigned long long)s->max, (long long)it->i);
            return why;
        }
        *(uint64_t *)(void *)((char *)c + s->off) = (uint64_t)it->i;
        return NULL;
    }
    return set_string(c, config_path, s, it, why, why_len);
}

int td_config_load(const char *path, td_config *c, char *err, size_t err_len)
{
    td_config_defaults(c);
    tc_toml_doc doc;
    char msg[512], why[400];
    if (tc_toml_parse(path, &doc, msg, sizeof(msg)) != 0) {
        /* No position (the file cannot be read): "PATH: message". */
        if (strncmp(msg, "0:0: ", 5) == 0)
            snprintf(err, err_len, "%s: %s", path, msg + 5);
        else
            snprintf(err, err_len, "%s:%s", path, msg);
        tc_toml_free(&doc);
        return -1;
    }
    int rc = 0;
    for (uint32_t k = 0; k < doc.count && rc == 0; k++) {
        const tc_toml_item *it = &doc.items[k];
        const char *bad = check_item(c, path, it, why, sizeof(why));
        if (bad != NULL) {
            /* An unknown key is shown where the key stands; a bad value where the value does. */
            bool at_key = strncmp(bad, "unknown key", 11) == 0;
            snprintf(err, err_len, "%s:%u:%u: %s", path, at_key ? it->key_line : it->line,
                     at_key ? it->key_column : it->column, bad);
            rc = -1;
        }
    }
    const char *missing = c->data_dir[0] == 0 ? "data_dir" : c->genesis[0] == 0 ? "genesis" : NULL;
    if (rc == 0 && missing != NULL) {
        snprintf(err, err_len, "%s:1:1: missing required key %s", path, missing);
        rc = -1;
    }
    if (rc == 0 && c->reconnect_min_ms > c->reconnect_max_ms) {
        snprintf(err, err_len, "%s:1:1: limits.reconnect_min_ms exceeds limits.reconnect_max_ms",
                 path);
        rc = -1;
    }
    tc_toml_free(&doc);
    return rc;
}

void td_config_print_json(const td_config *c, FILE *f)
{
    json_t *o = json_object(), *peers = json_array();
    int bad = o == NULL || peers == NULL;
    for (uint32_t k = 0; k < c->peer_count && !bad; k++)
        bad |= json_array_append_new(peers, tc_jsonw_str(c->peers[k]));
    bad |= tc_jsonw_set(o, "network", tc_jsonw_str(c->network));
    bad |= tc_jsonw_set(o, "data_dir", tc_jsonw_str(c->data_dir));
    bad |= tc_jsonw_set(o, "genesis", tc_jsonw_str(c->genesis));
    bad |= tc_jsonw_set(o, "p2p.listen", tc_jsonw_str(c->p2p_listen));
    bad |= tc_jsonw_set(o, "p2p.peers", peers);
    bad |= tc_jsonw_set(o, "p2p.max_inbound", tc_jsonw_u64(c->max_inbound));
    bad |= tc_jsonw_set(o, "p2p.max_outbound", tc_jsonw_u64(c->max_outbound));
    bad |= tc_jsonw_set(o, "rpc.listen", tc_jsonw_str(c->rpc_listen));
    bad |= tc_jsonw_set(o, "rpc.user", tc_jsonw_str(c->rpc_user));
    bad |= tc_jsonw_set(o, "rpc.password", tc_jsonw_str(c->rpc_password[0] ? "***" : ""));
    bad |= tc_jsonw_set(o, "masternode.key_file", tc_jsonw_str(c->key_file));
    bad |= tc_jsonw_set(o, "log.level", tc_jsonw_str(levels[c->log_level]));
    bad |= tc_jsonw_set(o, "log.format", tc_jsonw_str(formats[c->log_format]));
    bad |= tc_jsonw_set(o, "log.file", tc_jsonw_str(c->log_file));
    bad |= tc_jsonw_set(o, "metrics.listen", tc_jsonw_str(c->metrics_listen));
    bad |= tc_jsonw_set(o, "store.map_size_mib", tc_jsonw_u64(c->map_size_mib));
    bad |= tc_jsonw_set(o, "limits.frame_size_max", tc_jsonw_u64(c->frame_size_max));
    bad |= tc_jsonw_set(o, "limits.output_buffer_max", tc_jsonw_u64(c->output_buffer_max));
    bad |= tc_jsonw_set(o, "limits.handshake_timeout_ms", tc_jsonw_u64(c->handshake_timeout_ms));
    bad |= tc_jsonw_set(o, "limits.pending_per_host", tc_jsonw_u64(c->pending_per_host));
    bad |= tc_jsonw_set(o, "limits.reconnect_min_ms", tc_jsonw_u64(c->reconnect_min_ms));
    bad |= tc_jsonw_set(o, "limits.reconnect_max_ms", tc_jsonw_u64(c->reconnect_max_ms));
    bad |= tc_jsonw_set(o, "verify.pool", json_boolean(c->verify_pool));
    char *line = bad ? NULL : tc_jsonw_line(o);
    json_decref(o);
    if (line != NULL)
        fputs(line, f);
    free(line);
}
