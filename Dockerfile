# The bot as a small static image: built with the Go toolchain, run from distroless/static
# (CA certificates and time zones included, no shell) as an unprivileged user.
#
#   docker build --build-arg VERSION=$(git describe --always --dirty) -t ipsecbot .
#   docker run -v /srv/bot:/etc/bot:ro -v bot-data:/var/lib/bot -p 8080:8080 ipsecbot
#
# The configuration is mounted at /etc/bot/bot.yaml; point store.path at /var/lib/bot/bot.db
# and slack.listen at 0.0.0.0:8080. Secrets come from the environment or mounted files.

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Dependencies first, so they stay cached while only our code changes.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /bot ./cmd/bot \
 && /bot version \
 && mkdir -p /out/var/lib/bot

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /bot /bot
# The store's directory, owned by the runtime user (distroless has no shell to mkdir with).
COPY --from=build --chown=65532:65532 /out/var/lib/bot /var/lib/bot
VOLUME ["/var/lib/bot"]
EXPOSE 8080
USER 65532:65532
ENTRYPOINT ["/bot"]
CMD ["serve", "--config", "/etc/bot/bot.yaml"]
