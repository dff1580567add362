// toml_shim.cpp — the one C++ file of the project: toml++ parses config.toml, and this file
// flattens its tree into the C items of toml_shim.h. No exception and no C++ type crosses the
// interface: every failure becomes a -1 with a "LINE:COLUMN: message" text.
#include "toml_shim.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include <toml++/toml.h>

namespace
{

struct flat_item {
    std::string path;
    tc_toml_kind kind;
    std::string str;
    int64_t i = 0;
    bool b = false;
    uint32_t len = 0;
    uint32_t line = 0, column = 0;
    uint32_t key_line = 0, key_column = 0;
};

void set_pos(flat_item &it, const toml::source_region &src)
{
    it.line = src.begin.line;
    it.column = src.begin.column;
}

void flatten(const toml::node &node, const std::string &path, const toml::source_region &key_src,
             std::vector<flat_item> &out);

void flatten_table(const toml::table &t, const std::string &prefix, std::vector<flat_item> &out)
{
    for (auto &&[key, value] : t) {
        std::string path =
            prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
        flatten(value, path, key.source(), out);
    }
}

void flatten(const toml::node &node, const std::string &path, const toml::source_region &key_src,
             std::vector<flat_item> &out)
{
    flat_item it;
    it.path = path;
    // A table or array is placed where its key stands (an unknown section is reported there);
    // a value where the value stands (a wrong type or range is reported there).
    set_pos(it, node.is_table() || node.is_array() ? key_src : node.source());
    if (it.line == 0)
        set_pos(it, node.source());
    it.key_line = key_src.begin.line;
    it.key_column = key_src.begin.column;
    if (it.key_line == 0) {
        it.key_line = it.line;
        it.key_column = it.column;
    }
    if (const toml::table *t = node.as_table()) {
        it.kind = TC_TOML_TABLE;
        it.len = static_cast<uint32_t>(t->size());
        out.push_back(it);
        flatten_table(*t, path, out);
    } else if (const toml::array *a = node.as_array()) {
        it.kind = TC_TOML_ARRAY;
        it.len = static_cast<uint32_t>(a->size());
        out.push_back(it);
        for (size_t k = 0; k < a->size(); k++) {
            const toml::node &el = *a->get(k);
            flatten(el, path + "[" + std::to_string(k) + "]", el.source(), out);
        }
    } else if (const auto *s = node.as_string()) {
        it.kind = TC_TOML_STRING;
        it.str = s->get();
        it.len = static_cast<uint32_t>(it.str.size());
        out.push_back(it);
    } else if (const auto *n = node.as_integer()) {
        it.kind = TC_TOML_INTEGER;
        it.i = n->get();
        out.push_back(it);
    } else if (node.is_floating_point()) {
        it.kind = TC_TOML_FLOAT;
        out.push_back(it);
    } else if (const auto *bv = node.as_boolean()) {
        it.kind = TC_TOML_BOOL;
        it.b = bv->get();
        out.push_back(it);
    } else {
        it.kind = TC_TOML_DATETIME;
        out.push_back(it);
    }
}

char *dup(const std::string &s)
{
    char *p = static_cast<char *>(std::malloc(s.size() + 1));
    if (p != nullptr) {
        std::memcpy(p, s.data(), s.size());
        p[s.size()] = 0;
    }
    return p;
}

int copy_out(const std::vector<flat_item> &items, tc_toml_doc *out)
{
    out->items = static_cast<tc_toml_item *>(std::calloc(items.size() + 1, sizeof(tc_toml_item)));
    if (out->items == nullptr)
        return -1;
    for (const flat_item &f : items) {
        tc_toml_item &it = out->items[out->count++];
        it.kind = f.kind;
        it.path = dup(f.path);
        it.str = f.kind == TC_TOML_STRING ? dup(f.str) : nullptr;
        it.i = f.i;
        it.b = f.b;
        it.len = f.len;
        it.line = f.line;
        it.column = f.column;
        it.key_line = f.key_line;
        it.key_column = f.key_column;
        if (it.path == nullptr || (f.kind == TC_TOML_STRING && it.str == nullptr))
            return -1;
    }
    return 0;
}

} // namespace

extern "C" int tc_toml_parse(const char *path, tc_toml_doc *out, char *err, size_t err_len)
{
    *out = tc_toml_doc{0, nullptr};
    if (err_len > 0)
        err[0] = 0;
    try {
        toml::table root = toml::parse_file(path);
        std::vector<flat_item> items;
        flatten_table(root, "", items);
        if (copy_out(items, out) != 0) {
            std::snprintf(err, err_len, "0:0: out of memory");
            return -1;
        }
        return 0;
    } catch (const toml::parse_error &e) {
        const toml::source_position &p = e.source().begin;
        std::snprintf(err, err_len, "%u:%u: %.*s", p.line, p.column,
                      static_cast<int>(e.description().size()), e.description().data());
    } catch (const std::bad_alloc &) {
        std::snprintf(err, err_len, "0:0: out of memory");
    } catch (const std::exception &e) {
        std::snprintf(err, err_len, "0:0: %s", e.what());
    }
    return -1;
}

extern "C" void tc_toml_free(tc_toml_doc *doc)
{
    for (uint32_t k = 0; doc->items != nullptr && k < doc->count; k++) {
        std::free(doc->items[k].path);
        std::free(doc->items[k].str);
    }
    std::free(doc->items);
    *doc = tc_toml_doc{0, nullptr};
}

extern "C" const char *tc_toml_kind_name(tc_toml_kind kind)
{
    switch (kind) {
    case TC_TOML_TABLE:
        return "table";
    case TC_TOML_ARRAY:
        return "array";
    case TC_TOML_STRING:
        return "string";
    case TC_TOML_INTEGER:
        return "integer";
    case TC_TOML_FLOAT:
        return "float";
    case TC_TOML_BOOL:
        return "boolean";
    case TC_TOML_DATETIME:
        return "date-time";
    }
    return "?";
}
