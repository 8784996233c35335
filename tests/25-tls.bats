#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# HTTPS: the certificate is always verified, --cacert names the CA to trust,
# and nothing is sent to an endpoint that fails verification.

load test_helper

setup_file() {
    command -v openssl >/dev/null || skip "openssl is needed to make a test certificate"
    TLS_DIR="$BATS_FILE_TMPDIR/tls"
    mkdir -p "$TLS_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=credrun test" \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" 2>/dev/null
    # a second, unrelated CA
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=someone else" \
        -keyout "$TLS_DIR/other-key.pem" -out "$TLS_DIR/other.pem" 2>/dev/null
    mock_start --tls-cert "$TLS_DIR/cert.pem" --tls-key "$TLS_DIR/key.pem" --tls-port-file "$TLS_DIR/port"
    export TLS_DIR
}
teardown_file() { mock_stop; }
setup() {
    mockctl reset
    new_login --expires-in 3600
    set_expiry_in -5
    HTTPS_URL="https://127.0.0.1:$(cat "$TLS_DIR/port")/v1/oauth/token"
}

@test "an endpoint whose certificate is not trusted is refused and gets no token (69)" {
    before=$(cat "$CREDS")
    run "$CREDRUN" --credentials "$CREDS" --token-url "$HTTPS_URL" --refresh
    assert_failure 69
    assert_output --partial "cannot reach the token endpoint"
    [ "$(mockctl stats token_requests)" = 0 ]
    [ "$(cat "$CREDS")" = "$before" ]
}

@test "--cacert with another CA is refused too" {
    run "$CREDRUN" --credentials "$CREDS" --token-url "$HTTPS_URL" --cacert "$TLS_DIR/other.pem" --refresh
    assert_failure 69
    [ "$(mockctl stats token_requests)" = 0 ]
}

@test "--cacert with the endpoint's CA refreshes over HTTPS" {
    run "$CREDRUN" --credentials "$CREDS" --token-url "$HTTPS_URL" --cacert "$TLS_DIR/cert.pem" \
        mockctl check-env CLAUDE_CODE_OAUTH_TOKEN
    assert_success
    assert_output live
    [ "$(mockctl stats grants)" = 1 ]
}

@test "a proxy in the environment is never used for a loopback endpoint" {
    https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9 \
        run "$CREDRUN" --credentials "$CREDS" --token-url "$HTTPS_URL" --cacert "$TLS_DIR/cert.pem" --refresh
    assert_success
    [ "$(mockctl stats grants)" = 1 ]
}
