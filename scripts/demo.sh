#!/usr/bin/env bash
# The main job on the embedded defaults: brings up the local mail stack, starts `clerk run` with
# a SQLite store under target/demo and a small directory file (two of the forum's members are
# the stack's alice@ and bob@example.org), mails a document from tests/fixtures to Clerk as a
# secretary would, and shows what arrived where: the receipt in the secretary's mailbox, the
# invitations in the members' mailboxes, the processed folder, `clerk series`, `clerk meetings`
# and `clerk status`. The clock is fixed the day after the default document's meeting
# (CLERK_NOW), so the meetings it announces are still ahead. Usage: scripts/demo.sh [DOCUMENT]
set -euo pipefail
cd "$(dirname "$0")/.."
doc=${1:-tests/fixtures/formats/sv-kommunalt-forum-2018-05-02.txt}
demo=target/demo

scripts/mailstack.sh up
# shellcheck disable=SC1091
source "${CLERK_STACK_DIR:-target/mailstack}/env"
cargo build --release --quiet
clerk=target/release/clerk

rm -rf "$demo" && mkdir -p "$demo"
printf 'clerk-test-pw\n' > "$demo/password"
printf 'name,email,organisation\nAnna Fransson,alice@example.org,Region Kronoberg\nRobert Olesen,bob@example.org,Region Kronoberg\n' \
  > "$demo/people.csv"
cat > "$demo/clerk.toml" <<TOML
[store]
url = "sqlite:$PWD/$demo/clerk.db"

[daemon]
fixed_now = "${CLERK_NOW:-2018-05-03T08:00:00+02:00}"

[directory]
path = "$PWD/$demo/people.csv"

[[mailbox]]
name = "main"
address = "clerk@example.test"
display_name = "Clerk"

[mailbox.imap]
host = "localhost"
port = $CLERK_TEST_IMAP_PORT
security = "starttls"
username = "clerk@example.test"
password_file = "$PWD/$demo/password"
ca_file = "$CLERK_TEST_CA"

[mailbox.smtp]
host = "localhost"
port = $CLERK_TEST_SUBMISSION_PORT
security = "starttls"
username = "clerk@example.test"
password_file = "$PWD/$demo/password"
ca_file = "$CLERK_TEST_CA"
TOML

$clerk --config "$demo/clerk.toml" check-config
CLERK_LOG=info $clerk --config "$demo/clerk.toml" run >"$demo/clerk.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT

# The secretary's mail: a short body and the document attached.
name=$(basename "$doc")
msgid="demo-$(date +%s)-$$@example.test"
{
  printf 'From: Sara Sekreterare <secretary@example.test>\r\nTo: Clerk <clerk@example.test>\r\n'
  printf 'Subject: Protokoll %s\r\nMessage-ID: <%s>\r\nDate: %s\r\n' "$name" "$msgid" "$(date -R)"
  printf 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="demo-boundary"\r\n\r\n'
  printf -- '--demo-boundary\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHej! Här kommer protokollet.\r\n\r\n'
  printf -- '--demo-boundary\r\nContent-Type: application/octet-stream; name="%s"\r\n' "$name"
  printf 'Content-Disposition: attachment; filename="%s"\r\nContent-Transfer-Encoding: base64\r\n\r\n' "$name"
  base64 -w 76 "$doc" | sed 's/$/\r/'
  printf -- '--demo-boundary--\r\n'
} > "$demo/mail.eml"
echo "== Mailing $doc to clerk@example.test as secretary@example.test"
curl -sS --url "smtp://127.0.0.1:$CLERK_TEST_SMTP_PORT" --mail-from secretary@example.test \
  --mail-rcpt clerk@example.test --upload-file "$demo/mail.eml"

imap() { # USER PASSWORD URL-PATH [COMMAND]
  curl -sS --ssl-reqd --cacert "$CLERK_TEST_CA" --user "$1:$2" \
    "imap://localhost:$CLERK_TEST_IMAP_PORT/$3" ${4:+-X "$4"}
}
echo "== Waiting for the receipt in secretary@example.test's INBOX"
for _ in $(seq 1 120); do
  uids=$(imap secretary@example.test test-pw INBOX "UID SEARCH HEADER In-Reply-To $msgid" | tr -dc '0-9 ')
  [ -n "${uids// /}" ] && break
  sleep 0.5
done
[ -n "${uids// /}" ] || { echo "no receipt arrived; clerk log:"; cat "$demo/clerk.log"; exit 1; }
uid=$(echo "$uids" | awk '{print $NF}')
imap secretary@example.test test-pw "INBOX/;UID=$uid"
echo
echo "== Invitations in alice@example.org's and bob@example.org's INBOX"
for user in alice bob; do
  for _ in $(seq 1 20); do
    found=$(imap "$user@example.org" test-pw INBOX "SEARCH HEADER Content-Type multipart/mixed" | tr -dc '0-9 ')
    [ -n "${found// /}" ] && break
    sleep 0.5
  done
  for uid in $found; do
    imap "$user@example.org" test-pw "INBOX/;UID=$uid/;SECTION=HEADER.FIELDS%20(SUBJECT)" | tr -d '\r' | grep -v '^$' \
      | sed "s/^/$user: /"
  done
done
echo "== Clerk's folders"
for folder in INBOX Clerk/Processed Clerk/Quarantine; do
  echo "$folder: $(imap clerk@example.test clerk-test-pw "$folder" "SEARCH ALL" | tr -d '\r')"
done
echo "== clerk series"
$clerk --config "$demo/clerk.toml" series
echo "== clerk meetings"
$clerk --config "$demo/clerk.toml" meetings
echo "== clerk status"
$clerk --config "$demo/clerk.toml" status
echo "== The daemon's log is $demo/clerk.log; stop the mail stack with scripts/mailstack.sh down"
