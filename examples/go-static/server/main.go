// The go-static example's server: a static binary with no dependencies beyond
// Go's standard library, for a distroless base with no shell. It reads the config
// file its init container wrote into the shared volume (flat `key: "value"`
// lines) and serves the greeting from it, so a request shows the handoff worked.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
)

// config is what the init container renders from its environment.
type config struct {
	Listen   string
	LogLevel string
	Greeting string
}

func main() {
	path := flag.String("config", "/config/server.yaml", "the config file the init container wrote")
	flag.Parse()
	cfg, err := readConfig(*path)
	if err != nil {
		log.Fatalf("reading %s: %v", *path, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, cfg.Greeting)
	})
	mux.HandleFunc("/config", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "listen=%s log_level=%s greeting=%s\n", cfg.Listen, cfg.LogLevel, cfg.Greeting)
	})
	ok := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }
	mux.HandleFunc("/healthz", ok)
	mux.HandleFunc("/readyz", ok)
	log.Printf("serving on %s as uid %d (log level %s)", cfg.Listen, os.Getuid(), cfg.LogLevel)
	log.Fatal(http.ListenAndServe(cfg.Listen, mux))
}

// readConfig parses the flat YAML subset the init container writes: one
// `key: value` per line, values optionally double-quoted.
func readConfig(path string) (config, error) {
	f, err := os.Open(path)
	if err != nil {
		return config{}, err
	}
	defer f.Close()
	values := map[string]string{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, found := strings.Cut(line, ":")
		if !found {
			return config{}, fmt.Errorf("not a key: value line: %q", line)
		}
		values[strings.TrimSpace(key)] = strings.Trim(strings.TrimSpace(value), `"`)
	}
	if err := scanner.Err(); err != nil {
		return config{}, err
	}
	cfg := config{Listen: values["listen"], LogLevel: values["log_level"], Greeting: values["greeting"]}
	if cfg.Listen == "" {
		return config{}, errors.New("listen is not set")
	}
	return cfg, nil
}
