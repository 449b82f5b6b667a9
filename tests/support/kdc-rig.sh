#!/bin/sh
# kdc-rig.sh DIR PORT — an MIT Kerberos realm for the Negotiate tests, made
# afresh in DIR: GATEHOUSE.TEST, its KDC on 127.0.0.1:PORT (UDP and TCP),
#   alice@GATEHOUSE.TEST  password alicepw
#   bob@GATEHOUSE.TEST    password bobpw
#   dave@GATEHOUSE.TEST   password davepw
#   HTTP/localhost        the proxy's service key, in DIR/http.keytab
# DIR/krb5.conf is the clients' configuration (KRB5_CONFIG).  Starts
# krb5kdc (it forks) and prints its pid.
set -eu
d=$1
port=$2
mkdir -p "$d"
cd "$d"
cat > krb5.conf <<EOF
[libdefaults]
 default_realm = GATEHOUSE.TEST
 dns_lookup_kdc = false
 dns_lookup_realm = false
 rdns = false
 dns_canonicalize_hostname = false
[realms]
 GATEHOUSE.TEST = {
  kdc = 127.0.0.1:$port
 }
[domain_realm]
 localhost = GATEHOUSE.TEST
EOF
cat > kdc.conf <<EOF
[kdcdefaults]
 kdc_listen = 127.0.0.1:$port
 kdc_tcp_listen = 127.0.0.1:$port
[realms]
 GATEHOUSE.TEST = {
  database_name = $d/principal
  key_stash_file = $d/stash
  acl_file = $d/kadm5.acl
 }
[logging]
 kdc = FILE:$d/kdc.log
EOF
export KRB5_CONFIG="$d/krb5.conf" KRB5_KDC_PROFILE="$d/kdc.conf"
kdb5_util create -s -r GATEHOUSE.TEST -P masterpw > kdb5_util.log 2>&1
kadmin.local -q "addprinc -pw alicepw alice" > kadmin.log 2>&1
kadmin.local -q "addprinc -pw bobpw bob" >> kadmin.log 2>&1
kadmin.local -q "addprinc -pw davepw dave" >> kadmin.log 2>&1
kadmin.local -q "addprinc -randkey HTTP/localhost" >> kadmin.log 2>&1
kadmin.local -q "ktadd -k $d/http.keytab HTTP/localhost" >> kadmin.log 2>&1
chmod 755 "$d"
chmod 644 http.keytab # the daemon reads it as nobody (a real one: its group)
krb5kdc -P "$d/kdc.pid" > krb5kdc.log 2>&1
i=0
while [ ! -s kdc.pid ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
cat kdc.pid
