#!/bin/sh
# Env: LDAP_SUFFIX (dc=flujo,dc=test), LDAP_ADMIN_PASSWORD (the rootdn cn=admin,<suffix>).
set -eu
suffix=${LDAP_SUFFIX:-dc=flujo,dc=test}
conf=/tmp/slapd.d; data=/tmp/ldap-data
mkdir -p "$conf" "$data"
hash=$(slappasswd -s "$LDAP_ADMIN_PASSWORD")
cat > /tmp/config.ldif <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: /tmp/slapd.pid

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: memberof

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: $data
olcSuffix: $suffix
olcRootDN: cn=admin,$suffix
olcRootPW: $hash
olcAccess: {0}to attrs=userPassword by self read by anonymous auth by * none
olcAccess: {1}to * by * read

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: TRUE
LDIF
slapadd -n0 -F "$conf" -l /tmp/config.ldif
slapd -h "ldap://:1389/" -F "$conf"
for i in $(seq 50); do ldapsearch -x -H ldap://127.0.0.1:1389 -b "" -s base >/dev/null 2>&1 && break; sleep 0.2; done
for f in /ldif/*.ldif; do
  [ -e "$f" ] && ldapadd -x -c -H ldap://127.0.0.1:1389 -D "cn=admin,$suffix" -w "$LDAP_ADMIN_PASSWORD" -f "$f"
done
echo "slapd ready on :1389"
# slapd went to the background: stay in front while it runs
while kill -0 "$(cat /tmp/slapd.pid)" 2>/dev/null; do sleep 5; done
