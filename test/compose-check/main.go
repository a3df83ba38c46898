// Command compose-check loads a Compose file with the Compose specification's own
// loader (github.com/compose-spec/compose-go/v2, the library behind `docker compose`)
// and exits non-zero with the loader's error when it refuses it. It reads the file
// named by its one argument, or stdin when there is none or it is "-".
//
// Strict: the JSON schema is checked (no unknown attributes), so are references
// between services, volumes, configs and secrets; the environment is empty, so a
// "$" the renderer forgot to escape is not quietly filled in from this machine; and
// any warning the loader logs (an unset variable, a YAML 1.1 boolean, an obsolete
// attribute) is an error. On success it prints the services it loaded, one a line.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
)

// warnings collects what the loader logs at warning level or worse.
type warnings struct{ messages []string }

func (w *warnings) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (w *warnings) Fire(entry *logrus.Entry) error {
	w.messages = append(w.messages, entry.Message)
	return nil
}

// read returns the file's name as given, its absolute path (stdin's: in the working
// directory, which relative paths in it then resolve from) and its content.
func read(args []string) (name string, path string, content []byte, err error) {
	if len(args) == 0 || args[0] == "-" {
		dir, err := os.Getwd()
		if err != nil {
			return "", "", nil, err
		}
		content, err = io.ReadAll(os.Stdin)
		return "<stdin>", filepath.Join(dir, "<stdin>"), content, err
	}
	content, err = os.ReadFile(args[0])
	if err != nil {
		return "", "", nil, err
	}
	path, err = filepath.Abs(args[0])
	return args[0], path, content, err
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "compose-check: "+format+"\n", a...)
	os.Exit(1)
}

func main() {
	if len(os.Args) > 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check [FILE|-]")
		os.Exit(2)
	}
	name, path, content, err := read(os.Args[1:])
	if err != nil {
		fail("%v", err)
	}
	hook := &warnings{}
	logrus.AddHook(hook)
	logrus.SetOutput(io.Discard)

	details := types.ConfigDetails{
		WorkingDir:  filepath.Dir(path),
		ConfigFiles: []types.ConfigFile{{Filename: path, Content: content}},
		Environment: types.Mapping{},
	}
	project, err := loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("compose-check", true)
	})
	if err != nil {
		fail("%s: %v", name, err)
	}
	if len(hook.messages) > 0 {
		for _, m := range hook.messages {
			fmt.Fprintf(os.Stderr, "compose-check: %s: warning: %s\n", name, m)
		}
		fail("%s: the loader warned; strict mode takes warnings as errors", name)
	}
	services := project.ServiceNames()
	sort.Strings(services)
	for _, s := range services {
		fmt.Println(s)
	}
}
