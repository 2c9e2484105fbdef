package main

// FerretDB v1's SQLite backend applies `update` and `findAndModify` as a read, a change
// in Go and a write, with no isolation between concurrent commands: 50 concurrent
// `$inc`s on one document leave it at 2 or 3. MongoDB guarantees single-document
// atomicity, and alloy-scripting relies on it (failure counters, disable transitions).
//
// This front restores it: it listens where clients connect, forwards every wire message
// to the embedded FerretDB over a Unix socket, and runs read-modify-write commands
// (update, findAndModify, delete) on one collection one at a time, each holding that
// collection's lock until its reply has been read. Reads, inserts (atomic under SQLite's
// unique indexes) and commands on other collections pass freely, so a command that
// stalls (e.g. on a database whose SQLite pool is exhausted) holds up only its own kind.

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
	locks    map[string]*sync.Mutex
}

func (f *front) lockFor(target string) *sync.Mutex {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.locks == nil {
		f.locks = make(map[string]*sync.Mutex)
	}
	l, ok := f.locks[target]
	if !ok {
		l = new(sync.Mutex)
		f.locks[target] = l
	}
	return l
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
	if name, target := command(msg); serializedCommands[name] {
		l := f.lockFor(target)
		l.Lock()
		defer l.Unlock()
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

// command returns an OP_MSG's command name (the body's first key) and its target,
// "<$db>.<collection>" ("" and "" for anything else).
func command(msg []byte) (string, string) {
	// header(16) flagBits(4) kind(1) then the body document
	if opCode(msg) != opMsg || len(msg) < 26 || msg[20] != 0 {
		return "", ""
	}
	doc := msg[21:]
	size := int(binary.LittleEndian.Uint32(doc[:4]))
	if size > len(doc) || size < 5 {
		return "", ""
	}
	var name, collection, db string
	for pos, first := 4, true; pos < size-1; first = false {
		kind := doc[pos]
		end := pos + 1
		for end < size && doc[end] != 0 {
			end++
		}
		if end >= size {
			return "", ""
		}
		key := string(doc[pos+1 : end])
		value := end + 1
		length := valueLength(kind, doc[value:size])
		if length < 0 {
			break
		}
		if kind == 2 && length >= 5 { // string: int32 length, bytes, NUL
			str := string(doc[value+4 : value+length-1])
			if first {
				collection = str
			} else if key == "$db" {
				db = str
			}
		}
		if first {
			name = key
		}
		pos = value + length
	}
	return name, db + "." + collection
}

// valueLength is the encoded size of a BSON value of the given type (-1 if unknown).
func valueLength(kind byte, b []byte) int {
	int32At := func() int {
		if len(b) < 4 {
			return -1
		}
		return int(binary.LittleEndian.Uint32(b[:4]))
	}
	switch kind {
	case 1, 9, 17, 18: // double, datetime, timestamp, int64
		return 8
	case 2, 13, 14: // string, javascript, symbol
		if n := int32At(); n >= 0 {
			return 4 + n
		}
		return -1
	case 3, 4: // document, array
		return int32At()
	case 5: // binary
		if n := int32At(); n >= 0 {
			return 5 + n
		}
		return -1
	case 7: // ObjectId
		return 12
	case 8: // bool
		return 1
	case 6, 10, 127, 255: // undefined, null, maxKey, minKey
		return 0
	case 16: // int32
		return 4
	case 19: // decimal128
		return 16
	default:
		return -1
	}
}
