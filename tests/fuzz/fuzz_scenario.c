/* fuzz_scenario.c — libFuzzer target for the scenario parser: any bytes are either rejected
 * with a terminated "name:line:column: expected ..., got ..." message and a zeroed scenario, or
 * parsed into a scenario whose canonical text parses back to an equal scenario and is itself a
 * fixed point of write -> parse -> write. No leak either way. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Canonical text of s in a malloc'd buffer. */
static char *write_text(const tc_scn *s, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    TC_ASSERT(f != NULL);
    TC_ASSERT(tc_scn_write(f, s) == 0);
    TC_ASSERT(fclose(f) == 0);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_scn s;
    char err[256];
    int rc = tc_scn_parse_text("fuzz", (const char *)data, size, &s, err, sizeof(err));
    if (rc != 0) {
        TC_ASSERT(rc == TC_EINVAL || rc == TC_ENOMEM);
        TC_ASSERT(strlen(err) < sizeof(err));
        TC_ASSERT(rc == TC_ENOMEM || strncmp(err, "fuzz:", 5) == 0);
        TC_ASSERT(s.events == NULL && s.members == NULL && s.links == NULL && s.node_count == 0);
        return 0;
    }
    size_t len1 = 0, len2 = 0;
    char *text1 = write_text(&s, &len1);
    tc_scn back;
    rc = tc_scn_parse_text("written", text1, len1, &back, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "canonical text does not parse: %s\n%s", err, text1);
        TC_ASSERT(rc == 0);
    }
    TC_ASSERT(tc_scn_equal(&s, &back));
    char *text2 = write_text(&back, &len2);
    TC_ASSERT(len1 == len2 && memcmp(text1, text2, len1) == 0);
    tc_scn copy;
    TC_ASSERT(tc_scn_copy(&copy, &s) == 0);
    TC_ASSERT(tc_scn_equal(&copy, &back));
    uint32_t endpoints = tc_scn_endpoint_count(&s);
    for (uint32_t k = 0; k < endpoints; k++) {
        uint32_t ep = 0;
        TC_ASSERT(tc_scn_endpoint(&s, tc_scn_endpoint_node(&s, k), &ep) == 0 && ep == k);
    }
    tc_scn_free(&copy);
    free(text2);
    free(text1);
    tc_scn_free(&back);
    tc_scn_free(&s);
    return 0;
}
