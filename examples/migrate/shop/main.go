// The migrate example's application: a static binary for a distroless base. It
// starts only from what its init container left in the shared volume (the schema
// version the migrations reached) and reports it, with the database user its own
// credentials name, so the handoff and the separation of credentials can be seen.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"strings"
)

func main() {
	versionFile := flag.String("schema-version-file", "/run/shop/schema-version", "where the init container recorded the applied schema version")
	listen := flag.String("listen", ":8080", "address to serve on")
	flag.Parse()
	version, err := readVersion(*versionFile)
	if err != nil {
		log.Fatalf("no schema version: %v (did the migrations run?)", err)
	}
	user := databaseUser(os.Getenv("DATABASE_URL"))
	mux := http.NewServeMux()
	mux.HandleFunc("/schema-version", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, version) })
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "pod=%s database_user=%s\n", os.Getenv("POD_NAME"), user)
	})
	ok := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }
	mux.HandleFunc("/healthz", ok)
	mux.HandleFunc("/readyz", ok)
	log.Printf("shop at schema version %s, database user %q, serving on %s", version, user, *listen)
	log.Fatal(http.ListenAndServe(*listen, mux))
}

func readVersion(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	version := strings.TrimSpace(string(data))
	if version == "" {
		return "", errors.New(path + " is empty")
	}
	return version, nil
}

// databaseUser names the user of a postgres:// URL, never its password.
func databaseUser(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return ""
	}
	return u.User.Username()
}
