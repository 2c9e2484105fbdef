package main

// FerretDB v1's SQLite backend applies `update` and `findAndModify` as a read, a change
// in Go and a write, with no isolation between concurrent commands: 50 concurrent
// `$inc`s on one document leave it at 2 or 3. MongoDB guarantees single-document
// atomicity, and alloy-scripting relies on it (failure counters, disable transitions).
//
// This front restores it: it listens where clients connect, forwards every wire message
// to the embedded FerretDB over a Unix socket, and runs read-modify-write commands
// (update, findAndModify, delete) one at a time, each holding a lock until its reply
// has been read. Reads and inserts (atomic under SQLite's unique indexes) pass freely.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

const (
	opMsg          = 2013
	flagMoreToCome = 1 << 1
	maxMessageSize = 48 * 1024 * 1024
)

var serializedCommands = map[string]bool{
	"update":        true,
	"findAndModify": true,
	"findandmodify": true,
	"delete":        true,
}

type front struct {
	upstream string
	logger   *slog.Logger
	mu       sync.Mutex
}

func (f *front) serve(ctx context.Context, ln net.Listener) {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				f.logger.Error("accept failed", "error", err)
			}
			return
		}
		go f.handle(ctx, conn)
	}
}

func (f *front) dialUpstream(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := d.DialContext(ctx, "unix", f.upstream)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return conn, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *front) handle(ctx context.Context, client net.Conn) {
	defer client.Close()
	up, err := f.dialUpstream(ctx)
	if err != nil {
		f.logger.Error("cannot reach embedded FerretDB", "error", err)
		return
	}
	defer up.Close()
	for {
		msg, err := readMessage(client)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				f.logger.Debug("client connection ended", "error", err)
			}
			return
		}
		if err = f.roundTrip(msg, up, client); err != nil {
			f.logger.Debug("upstream connection ended", "error", err)
			return
		}
	}
}

func (f *front) roundTrip(msg []byte, up, client net.Conn) error {
	if serializedCommands[commandName(msg)] {
		f.mu.Lock()
		defer f.mu.Unlock()
	}
	if _, err := up.Write(msg); err != nil {
		return err
	}
	if !expectsReply(msg) {
		return nil
	}
	for {
		reply, err := readMessage(up)
		if err != nil {
			return err
		}
		if _, err = client.Write(reply); err != nil {
			return err
		}
		if !moreToCome(reply) {
			return nil
		}
	}
}

// readMessage reads one length-prefixed MongoDB wire message.
func readMessage(r io.Reader) ([]byte, error) {
	var header [4]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return nil, err
	}
	size := int(binary.LittleEndian.Uint32(header[:]))
	if size < 16 || size > maxMessageSize {
		return nil, fmt.Errorf("bad message length %d", size)
	}
	msg := make([]byte, size)
	copy(msg, header[:])
	if _, err := io.ReadFull(r, msg[4:]); err != nil {
		return nil, err
	}
	return msg, nil
}

func opCode(msg []byte) uint32 { return binary.LittleEndian.Uint32(msg[12:16]) }

func moreToCome(msg []byte) bool {
	return opCode(msg) == opMsg && len(msg) >= 20 && binary.LittleEndian.Uint32(msg[16:20])&flagMoreToCome != 0
}

func expectsReply(msg []byte) bool { return !moreToCome(msg) }

// commandName is the first key of an OP_MSG's body section ("" for anything else).
func commandName(msg []byte) string {
	// header(16) flagBits(4) kind(1) bson: length(4) type(1) name(cstring)
	if opCode(msg) != opMsg || len(msg) < 27 || msg[20] != 0 {
		return ""
	}
	for i := 26; i < len(msg); i++ {
		if msg[i] == 0 {
			return string(msg[26:i])
		}
	}
	return ""
}
