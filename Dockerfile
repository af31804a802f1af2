# The controller image: the rewind binary on a distroless base.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p rewind

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/rewind /usr/local/bin/rewind
ENTRYPOINT ["/usr/local/bin/rewind"]
