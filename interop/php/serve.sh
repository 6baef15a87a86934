#!/usr/bin/env bash
# serve.sh: runs merchant.php under PHP's built-in web server (php-cli, openssl extension).
#
#   bash interop/php/serve.sh [--listen 127.0.0.1:0] [--public-key FILE] [--aes-key FILE] [--sign-type RSA2|RSA|none]
#
# Options fill ALIPAY_PUBLIC_KEY / ALIPAY_AES_KEY / ALIPAY_SIGN_TYPE from files (else the
# environment's values are used as they are); see merchant.php. The configuration is checked first
# (`php merchant.php --check`: one clear message, exit 2). Then `php -S` starts with 4 workers and
# the first line on stdout is "listening on http://ADDR" (with port 0, the port PHP picked).
# Production runs merchant.php under php-fpm or Apache instead; this is for tests and local use.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() { echo "serve.sh: $1" >&2; echo "usage: serve.sh [--listen HOST:PORT] [--public-key FILE] [--aes-key FILE] [--sign-type RSA2|RSA|none]" >&2; exit 2; }
listen=127.0.0.1:0
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage "missing value for $1"
  case $1 in
    --listen) listen=$2 ;;
    --public-key) ALIPAY_PUBLIC_KEY=$(cat -- "$2" 2>/dev/null) || usage "cannot read --public-key $2"; export ALIPAY_PUBLIC_KEY ;;
    --aes-key) ALIPAY_AES_KEY=$(cat -- "$2" 2>/dev/null) || usage "cannot read --aes-key $2"; export ALIPAY_AES_KEY ;;
    --sign-type) export ALIPAY_SIGN_TYPE=$2 ;;
    *) usage "unknown option '$1'" ;;
  esac
  shift 2
done
command -v php >/dev/null || { echo "serve.sh: php not found (Debian: apt-get install php-cli)" >&2; exit 2; }
php -r 'exit(extension_loaded("openssl") ? 0 : 1);' || { echo "serve.sh: PHP has no openssl extension" >&2; exit 2; }
php "$here/merchant.php" --check

# php -S announces its real address on stderr ("Development Server (http://ADDR) started", once per
# worker): turn the first one into our first stdout line and pass every stderr line through.
announce() {
  local line said=""
  while IFS= read -r line; do
    if [ -z "$said" ] && [[ $line =~ Development\ Server\ \((http://[^\)]+)\)\ started ]]; then
      echo "listening on ${BASH_REMATCH[1]}"
      said=1
    fi
    printf '%s\n' "$line" >&2
  done
}
# The workers are children of the first php process and outlive it: run them in a process group of
# their own (setsid) and stop the whole group when we are stopped.
export PHP_CLI_SERVER_WORKERS=${PHP_CLI_SERVER_WORKERS:-4}
setsid php -d display_errors=0 -d log_errors=1 -d error_log= -S "$listen" "$here/merchant.php" 2> >(announce) &
php_pid=$!
trap 'kill -TERM -- "-$php_pid" 2>/dev/null; wait "$php_pid"; exit 0' TERM INT
trap 'kill -TERM -- "-$php_pid" 2>/dev/null || true' EXIT
wait "$php_pid"
