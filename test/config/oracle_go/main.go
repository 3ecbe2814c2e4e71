// oracle_go — the second reference parser of the differential test: Debian's
// golang-github-burntsushi-toml-dev (BurntSushi/toml 1.2.0, TOML 1.0; the daemon's parser
// family), printing the same normalized verdict as oracle_py.py:
//
//	{"accepted":false,"error":"..."}
//	{"accepted":true,"keys":{"vm.linux.cpus":{"type":"integer","value":2}},
//	 "prefixes":{"vm":"table","vm.linux":"table","dind":"absent","log":"array"}}
//
// A leading UTF-8 BOM is removed first: the daemon's BurntSushi/toml 1.6 reads over it,
// 1.2.0 does not.
//
// Usage: oracle_go KEY... < FILES (one path a line; one JSON line per file on stdout:
// {"file":F,"verdict":V}). Built offline by build-oracle.sh (GOPATH mode, Debian's
// /usr/share/gocode).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// typeName is the normalized TOML type of a decoded value.
func typeName(v interface{}) string {
	switch v.(type) {
	case bool:
		return "boolean"
	case int64:
		return "integer"
	case float64:
		return "float"
	case string:
		return "string"
	case time.Time:
		return "datetime"
	case []interface{}, []map[string]interface{}:
		return "array"
	case map[string]interface{}:
		return "table"
	}
	return fmt.Sprintf("unexpected Go type %T", v)
}

// typed gives {"type": T} with "value" for the scalar types the agent reads.
func typed(v interface{}) map[string]interface{} {
	t := typeName(v)
	out := map[string]interface{}{"type": t}
	if t == "integer" || t == "boolean" || t == "string" {
		out["value"] = v
	}
	return out
}

// lookup walks a dotted path of bare parts; ok is false when absent or below a non-table.
func lookup(doc map[string]interface{}, path string) (interface{}, bool) {
	var node interface{} = doc
	for _, part := range strings.Split(path, ".") {
		m, isMap := node.(map[string]interface{})
		if !isMap {
			return nil, false
		}
		v, present := m[part]
		if !present {
			return nil, false
		}
		node = v
	}
	return node, true
}

func prefixesOf(keys []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		parts := strings.Split(k, ".")
		for n := 1; n < len(parts); n++ {
			p := strings.Join(parts[:n], ".")
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

func verdict(data []byte, keys []string) (out map[string]interface{}) {
	defer func() {
		if r := recover(); r != nil {
			out = map[string]interface{}{"accepted": false, "error": fmt.Sprintf("panic: %v", r)}
		}
	}()
	doc := map[string]interface{}{}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // as BurntSushi/toml 1.6 (the daemon's) does
	if _, err := toml.Decode(string(data), &doc); err != nil {
		return map[string]interface{}{"accepted": false, "error": err.Error()}
	}
	found := map[string]interface{}{}
	for _, k := range keys {
		if v, ok := lookup(doc, k); ok {
			found[k] = typed(v)
		}
	}
	prefixes := map[string]interface{}{}
	for _, p := range prefixesOf(keys) {
		if v, ok := lookup(doc, p); ok {
			prefixes[p] = typeName(v)
		} else {
			prefixes[p] = "absent"
		}
	}
	return map[string]interface{}{"accepted": true, "keys": found, "prefixes": prefixes}
}

func main() {
	keys := os.Args[1:]
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		path := in.Text()
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "oracle_go: %v\n", err)
			os.Exit(1)
		}
		rec := map[string]interface{}{"file": path, "verdict": verdict(data, keys)}
		if err := enc.Encode(rec); err != nil {
			fmt.Fprintf(os.Stderr, "oracle_go: %v\n", err)
			os.Exit(1)
		}
		out.Flush()
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "oracle_go: %v\n", err)
		os.Exit(1)
	}
}
