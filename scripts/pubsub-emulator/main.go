// Command pubsub-emulator serves Google's in-memory Pub/Sub fake
// (cloud.google.com/go/pubsub/pstest, the google.pubsub.v1 gRPC API) on a
// fixed or free local port, with the given topics and subscriptions already
// created, for crash-queue's Pub/Sub tests. Built by scripts/pubsub-test.sh
// in GOPATH mode from Debian's golang-google-cloud-dev (no module proxy).
//
//	pubsub-emulator -port 0 -project test \
//	    -topics standard-queue,priority-queue,reprocessing-queue -ack-deadline 300
//
// Each -topics entry is `topic` (with a subscription of the same name) or
// `topic:subscription`. Once serving it prints one line `READY host:port` on
// stdout. It exits on SIGTERM/SIGINT, and when stdin closes if -stdin-watch.
//
// Only the gRPC API is served (no REST): the admin calls of the Rust client
// (TopicAdmin, SubscriptionAdmin) speak HTTP/JSON and do not work here, which
// is why topics and subscriptions are created by flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"cloud.google.com/go/pubsub/pstest"
	pb "google.golang.org/genproto/googleapis/pubsub/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 0, "port to listen on (0: a free port)")
	project := flag.String("project", "test", "project id of the topics and subscriptions")
	topics := flag.String("topics", "standard-queue,priority-queue,reprocessing-queue",
		"comma-separated `topic` or `topic:subscription` entries to create")
	ackDeadline := flag.Int("ack-deadline", 300, "ack deadline of the subscriptions, seconds (1-600)")
	stdinWatch := flag.Bool("stdin-watch", false, "exit when stdin reaches end of file")
	flag.Parse()

	if *ackDeadline < 1 || *ackDeadline > 600 {
		fail("-ack-deadline must be within 1-600, got %d", *ackDeadline)
	}
	// The fake refuses ack deadlines under 10 s unless told otherwise.
	pstest.SetMinAckDeadline(time.Second)

	// pstest.NewServer also serves on a random port of its own; it is not
	// announced. Its service is registered again on our listener, behind
	// interceptors that turn a panic of the fake (it panics on
	// ModifyAckDeadline with an ack id it never issued) into an error.
	fake := pstest.NewServer()
	ctx := context.Background()
	for _, entry := range strings.Split(*topics, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		topic, sub := entry, entry
		if i := strings.IndexByte(entry, ':'); i >= 0 {
			topic, sub = entry[:i], entry[i+1:]
		}
		if topic == "" || sub == "" {
			fail("bad -topics entry %q (want topic or topic:subscription)", entry)
		}
		topicName := fmt.Sprintf("projects/%s/topics/%s", *project, topic)
		if _, err := fake.GServer.CreateTopic(ctx, &pb.Topic{Name: topicName}); err != nil &&
			status.Code(err) != codes.AlreadyExists {
			fail("creating %s: %v", topicName, err)
		}
		subName := fmt.Sprintf("projects/%s/subscriptions/%s", *project, sub)
		if _, err := fake.GServer.CreateSubscription(ctx, &pb.Subscription{
			Name:               subName,
			Topic:              topicName,
			AckDeadlineSeconds: int32(*ackDeadline),
		}); err != nil {
			fail("creating %s: %v", subName, err)
		}
	}

	lis, err := net.Listen("tcp", net.JoinHostPort(*host, fmt.Sprint(*port)))
	if err != nil {
		fail("listen: %v", err)
	}
	srv := grpc.NewServer(
		grpc.UnaryInterceptor(recoverUnary),
		grpc.StreamInterceptor(recoverStream),
	)
	pb.RegisterPublisherServer(srv, &fake.GServer)
	pb.RegisterSubscriberServer(srv, &fake.GServer)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()

	fmt.Printf("READY %s\n", lis.Addr().String())
	_ = os.Stdout.Sync()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	stdinClosed := make(chan struct{})
	if *stdinWatch {
		go func() {
			_, _ = io.Copy(ioutil.Discard, os.Stdin)
			close(stdinClosed)
		}()
	}
	select {
	case <-stop:
	case <-stdinClosed:
	case err := <-served:
		fail("serve: %v", err)
	}
	// Streams never end by themselves: do not wait for them.
	srv.Stop()
}

func recoverUnary(ctx context.Context, req interface{}, info *grpc.UnaryServerInfo,
	handler grpc.UnaryHandler) (resp interface{}, err error) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "pubsub-emulator: %s panicked: %v\n%s", info.FullMethod, r, debug.Stack())
			err = status.Errorf(codes.InvalidArgument, "the emulator failed on this request: %v", r)
		}
	}()
	return handler(ctx, req)
}

func recoverStream(srv interface{}, ss grpc.ServerStream, info *grpc.StreamServerInfo,
	handler grpc.StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "pubsub-emulator: %s panicked: %v\n%s", info.FullMethod, r, debug.Stack())
			err = status.Errorf(codes.Internal, "the emulator failed on this stream: %v", r)
		}
	}()
	return handler(srv, ss)
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "pubsub-emulator: "+format+"\n", args...)
	os.Exit(2)
}
