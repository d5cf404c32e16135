#!/usr/bin/env bash
# Creates /etc/mosquitto/streetsense.passwd with the service's account and one account per pilot, and
# /etc/streetsense/mqtt.pass with the service's password (mode 0640, group streetsense).
# Usage: sudo deploy/mosquitto/make-passwords.sh helsinki-lab citizen-air …
set -euo pipefail
passwd_file=/etc/mosquitto/streetsense.passwd
install -d -m 0750 /etc/streetsense
service_password=$(openssl rand -base64 24)
mosquitto_passwd -b -c "$passwd_file" streetsense "$service_password"
printf '%s\n' "$service_password" > /etc/streetsense/mqtt.pass
chmod 0640 /etc/streetsense/mqtt.pass
for pilot in "$@"; do
  pilot_password=$(openssl rand -base64 24)
  mosquitto_passwd -b "$passwd_file" "$pilot" "$pilot_password"
  echo "pilot $pilot: password $pilot_password (give it to the pilot over a safe channel; it is not stored in clear)"
done
chown root:mosquitto "$passwd_file" 2>/dev/null || true
chmod 0640 "$passwd_file"
