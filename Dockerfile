# The controller image: the rewind binary and the bundled policies (in
# /policies) on a distroless base. Mount a volume at /policies/custom for
# policies of your own.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN rustup target add wasm32-wasip2 \
 && cargo build --release -p rewind \
 && cargo build --profile guest --target wasm32-wasip2 -p deployment -p bluegreen -p bookkeeper

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/rewind /usr/local/bin/rewind
COPY --from=build /src/target/wasm32-wasip2/guest/deployment.wasm /src/target/wasm32-wasip2/guest/bluegreen.wasm \
     /src/target/wasm32-wasip2/guest/bookkeeper.wasm /policies/
ENTRYPOINT ["/usr/local/bin/rewind"]
