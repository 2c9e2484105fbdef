// Command ferretdb-embedded runs FerretDB v1 (SQLite backend) for local
// development and CI without Docker.
//
// It embeds the github.com/FerretDB/FerretDB/ferretdb package instead of
// building cmd/ferretdb, because `go install .../cmd/ferretdb@vX` panics at
// start-up for a missing build/version/version.txt (FerretDB issue #2982).
//
// Built and started by scripts/services; see `scripts/services --help`.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	dataDir := flag.String("sqlite-dir", "data/ferretdb", "directory holding SQLite database files (one file per database)")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn or error")
	synchronous := flag.String("sqlite-synchronous", "normal", "SQLite synchronous pragma: off, normal or full")
	gcPercent := flag.Int("gc-percent", 400, "Go GC target percentage (GOGC); the environment's GOGC wins when set")
	flag.Parse()

	// FerretDB allocates heavily per document (BSON to JSON and back); with Go's default
	// GOGC=100 garbage collection takes about a third of its CPU under a steady insert
	// load, on machines where the store shares the cores with Kafka and the service. A
	// larger target trades some memory (the live heap is tens of MB) for that CPU.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(*gcPercent)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-embedded: bad -log-level %q: %v\n", *logLevel, err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		logger.Error("bad -sqlite-dir", "error", err)
		os.Exit(2)
	}
	if err = os.MkdirAll(dir, 0o755); err != nil {
		logger.Error("cannot create SQLite directory", "dir", dir, "error", err)
		os.Exit(1)
	}
	// FerretDB wants a file: URI naming a directory, with a trailing slash.
	// WAL (FerretDB's default) with synchronous=NORMAL: a commit survives a crash of this
	// process, not a power loss; without it every commit waits for an fsync (~15 ms
	// per insert_many here), which is what a development/CI store does not need.
	sqliteURL := "file:" + strings.TrimSuffix(filepath.ToSlash(dir), "/") + "/?_pragma=synchronous(" + *synchronous + ")"

	// FerretDB itself listens on a private Unix socket; clients reach it through the
	// front of serialize.go, which makes single-document updates atomic.
	socket := filepath.Join(os.TempDir(), fmt.Sprintf("ferretdb-%d.sock", os.Getpid()))
	_ = os.Remove(socket)
	defer os.Remove(socket)

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: socket},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		logger.Error("cannot start FerretDB", "error", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		logger.Error("cannot listen", "addr", *listen, "error", err)
		os.Exit(1)
	}
	go (&front{upstream: socket, logger: logger}).serve(ctx, ln)

	logger.Info("ferretdb-embedded starting", "listen", *listen, "sqlite", sqliteURL, "pid", os.Getpid())

	if err = f.Run(ctx); err != nil {
		logger.Error("FerretDB stopped with error", "error", err)
		os.Exit(1)
	}

	logger.Info("ferretdb-embedded stopped")
}
