# alipay-sim in a container: the simulator (`alipay-sim`, the entry point) and the harness
# (`alipay-harness`) in one small image, FROM scratch, so nothing is pulled from a registry.
#
# The binaries are built OUTSIDE the image, statically linked, and copied in with a minimal root
# filesystem (users, name-service switch, hosts, CA certificates). One command does all of it:
#
#     bash docker/build.sh            # -> image alipay-sim:local (any tag: docker/build.sh TAG)
#
# `docker build .` alone works once docker/build.sh has staged target/docker/ (it runs
# `docker build` itself at the end). No time zone data: nothing in either binary reads local time
# (logs are UTC).
#
#     docker run --rm -p 127.0.0.1:8780:8780 alipay-sim:local      # published on loopback only
#     docker run --rm --network host -e ALIPAY_SIM_ADDR=127.0.0.1:8780 alipay-sim:local
# (the image serves on 0.0.0.0:8780 inside its own network; on the host network, or published
# without an address, that would be every interface of the host, admin API and /__forward
# included: name 127.0.0.1 as the README does)
#     docker run --rm --network host --entrypoint alipay-harness alipay-sim:local demo
#
# Every key inside is TEST ONLY (keys/README.md). Your own key set or catalogue: mount a
# directory and point the variable at it, e.g.
#     -v "$PWD/mykeys:/keys:ro" -e ALIPAY_SIM_KEYS=/keys
#     -v "$PWD/myscenarios:/scenarios:ro" -e ALIPAY_SIM_SCENARIOS=/scenarios
FROM scratch

ARG VERSION=unknown
ARG REVISION=unknown
ARG CREATED=unknown

# TARGETARCH is set by a multi-platform `docker buildx build` (release workflow), which stages one
# root filesystem per architecture (target/docker/rootfs-amd64, -arm64); docker/build.sh's plain
# `docker build` leaves it empty and copies target/docker/rootfs.
ARG TARGETARCH
COPY target/docker/rootfs${TARGETARCH:+-$TARGETARCH}/ /
COPY --chown=10001:10001 target/docker/data/ /data/

LABEL org.opencontainers.image.title="alipay-sim" \
      org.opencontainers.image.description="Offline Alipay side of my.getPhoneNumber (simulator, emulator page, admin API) and the alipay-harness conformance checker. All embedded keys are TEST ONLY." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.base.name="scratch"

# Non-root; /data is the only directory it owns (e.g. for `corpus --out /data/...`).
USER 10001:10001
WORKDIR /data
ENV ALIPAY_SIM_ADDR=0.0.0.0:8780 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PATH=/usr/local/bin
EXPOSE 8780

# `health` reads ALIPAY_SIM_ADDR like `serve` does, so the check follows a changed address.
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/alipay-sim", "health"]

# SIGTERM (docker stop) makes `serve` shut down gracefully at once.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/alipay-sim"]
CMD ["serve"]
