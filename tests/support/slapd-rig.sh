#!/bin/sh
# slapd-rig.sh DIR PORT TLSPORT — a directory for the LDAP tests, made
# afresh in DIR: a test CA and a server certificate for 127.0.0.1, a
# slapd.conf (mdb, the memberof overlay, TLS), and a tree under
# dc=example,dc=org:
#   uid=alice (password wonderland)  in posixGroup teachers (memberUid)
#   uid=bob   (password builder)     in groupOfNames pupils (member), so
#                                    memberOf=cn=pupils,... (the overlay)
#   uid=carol (password carolpw)     in no group
#   cn=reader (password readerpw)    a search account
#   ou=staff: uid=dave (password davepw) in posixGroup staffers; anonymous
#             clients may only bind there (find nothing): a search
#             account is needed to find dave
# Starts slapd on ldap://127.0.0.1:PORT (StartTLS) and ldaps://127.0.0.1:TLSPORT,
# as nobody when run as root, and prints its pid.  DIR/start.sh starts it
# again (after a test stopped it).
set -eu
d=$1
port=$2
tport=$3
mkdir -p "$d/db"
cd "$d"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
    -subj "/CN=Gatehouse LDAP test CA" 2>/dev/null
openssl genrsa -out server.key 2048 2>/dev/null
openssl req -new -key server.key -subj "/CN=127.0.0.1" -out server.csr
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 7001 -days 2 \
    -extfile server.ext -out server.pem 2>/dev/null

cat > slapd.conf <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile $d/slapd.pid
TLSCACertificateFile $d/ca.pem
TLSCertificateFile $d/server.pem
TLSCertificateKeyFile $d/server.key
database mdb
maxsize 10485760
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
rootpw adminpw
directory $d/db
overlay memberof
access to attrs=userPassword by anonymous auth by self read by * none
access to dn.subtree="ou=staff,dc=example,dc=org" by users read by anonymous auth by * none
access to * by * read
EOF

user() { # UID UIDNUMBER PASSWORD
    cat <<EOF
dn: uid=$1,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
objectClass: posixAccount
uid: $1
cn: $1
sn: $1
uidNumber: $2
gidNumber: $2
homeDirectory: /home/$1
userPassword: $(slappasswd -s "$3")

EOF
}
{
    cat <<EOF
dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
o: Example school
dc: example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=org
objectClass: organizationalUnit
ou: groups

EOF
    user alice 1001 wonderland
    user bob 1002 builder
    user carol 1003 carolpw
    cat <<EOF
dn: cn=reader,dc=example,dc=org
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: $(slappasswd -s readerpw)

dn: ou=staff,dc=example,dc=org
objectClass: organizationalUnit
ou: staff

dn: uid=dave,ou=staff,dc=example,dc=org
objectClass: inetOrgPerson
objectClass: posixAccount
uid: dave
cn: dave
sn: dave
uidNumber: 1004
gidNumber: 1004
homeDirectory: /home/dave
userPassword: $(slappasswd -s davepw)

dn: cn=staffers,ou=staff,dc=example,dc=org
objectClass: posixGroup
cn: staffers
gidNumber: 2003
memberUid: dave

EOF
    cat <<EOF
dn: cn=teachers,ou=groups,dc=example,dc=org
objectClass: posixGroup
cn: teachers
gidNumber: 2001
memberUid: alice

dn: cn=pupils,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: pupils
member: uid=bob,ou=people,dc=example,dc=org

EOF
} > tree.ldif

as=""
if [ "$(id -u)" = 0 ]; then
    chown -R nobody:nogroup "$d"
    chmod 755 "$d"
    as="-u nobody -g nogroup"
fi
cat > start.sh <<EOF
#!/bin/sh
# starts slapd in the background (it forks); its pid goes to $d/slapd.pid
rm -f $d/slapd.pid
/usr/sbin/slapd -f $d/slapd.conf -h "ldap://127.0.0.1:$port/ ldaps://127.0.0.1:$tport/" $as \
    > $d/slapd.log 2>&1
i=0
while [ ! -s $d/slapd.pid ] && [ \$i -lt 100 ]; do sleep 0.05; i=\$((i + 1)); done
i=0
while ! ldapsearch -x -H ldap://127.0.0.1:$port -b "" -s base >/dev/null 2>&1 && [ \$i -lt 100 ]; do
    sleep 0.05; i=\$((i + 1))
done
cat $d/slapd.pid
EOF
sh start.sh > /dev/null
# through slapd, so the memberof overlay writes bob's memberOf
ldapadd -x -H "ldap://127.0.0.1:$port" -D "cn=admin,dc=example,dc=org" -w adminpw \
    -f tree.ldif > ldapadd.log 2>&1
cat slapd.pid
