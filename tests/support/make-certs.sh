#!/bin/sh
# make-certs.sh DIR — the TLS tests' certificates, made afresh for each run
# with the openssl command (no private key is ever committed):
#   ca.pem/ca.key         the test CA
#   a-rsa, a-ec           a.test and *.wild.test, RSA and ECDSA (serials 1001, 1002)
#   b, b-new              b.test (serials 2001, 2002: a reload swaps them)
#   origin                origin.test, for upstream TLS (serial 3001)
#   client                a client certificate, CN=alice (serial 4001)
#   rogue                 origin.test again, self-signed: trusted by nobody
# Each NAME.pem is the full chain (leaf then CA), NAME.key its key.
set -eu
d=$1
mkdir -p "$d"
cd "$d"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
    -subj "/CN=Gatehouse test CA" 2>/dev/null

leaf() { # NAME KEYTYPE SANS SERIAL CN
    if [ "$2" = ec ]; then
        openssl ecparam -name prime256v1 -genkey -noout -out "$1.key"
    else
        openssl genrsa -out "$1.key" 2048 2>/dev/null
    fi
    openssl req -new -key "$1.key" -subj "/CN=$5/O=Gatehouse tests" -out "$1.csr"
    printf 'subjectAltName=%s\n' "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -set_serial "$4" -days 2 \
        -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    cat "$1.crt" ca.pem > "$1.pem"
}
leaf a-rsa rsa "DNS:a.test,DNS:*.wild.test" 1001 a.test
leaf a-ec ec "DNS:a.test,DNS:*.wild.test" 1002 a.test
leaf b rsa "DNS:b.test" 2001 b.test
leaf b-new rsa "DNS:b.test" 2002 b.test
leaf origin rsa "DNS:origin.test" 3001 origin.test
leaf client rsa "DNS:client.test" 4001 alice
openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue.key -out rogue.pem -days 2 \
    -subj "/CN=origin.test" -addext "subjectAltName=DNS:origin.test" 2>/dev/null
chmod 755 . && chmod 644 ./*.key # a reload reads them as the service user
