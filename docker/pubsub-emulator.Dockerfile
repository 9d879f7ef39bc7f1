# Google's Pub/Sub fake (pstest, the real google.pubsub.v1 gRPC API) behind
# our small program (scripts/pubsub-emulator/main.go), which creates the
# topics and subscriptions it is given. The same program the tests use.
FROM debian:bookworm-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends golang-go golang-google-cloud-dev \
    && rm -rf /var/lib/apt/lists/*
COPY scripts/pubsub-emulator/ /src/
WORKDIR /src
RUN GO111MODULE=off GOPATH=/tmp/go:/usr/share/gocode go build -o /out/pubsub-emulator .

FROM debian:bookworm-slim
COPY --from=build /out/pubsub-emulator /usr/local/bin/pubsub-emulator
USER 65534
EXPOSE 5010
ENTRYPOINT ["pubsub-emulator"]
