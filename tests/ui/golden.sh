#!/usr/bin/env bash
# Golden screens of the main views at 80x24: the whole screen compared with
# tests/ui/golden/NAME.txt (tests/lib/golden.sh says how to update them).
# Deterministic: the pinned clock, fixed customers, tenant ids masked, no PBX.
#   golden.sh PROVDESK
PROG=$1
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../lib/golden.sh"
GOLDEN_DIR=$(cd "$(dirname "$0")" && pwd)/golden
mkdir -p "$GOLDEN_DIR"

seed "Acme Télécom" contact-centre FR
seed "Bravo SARL" analytics-pro DE --reference REF-B-001
seed "Zulu GmbH" compliance-recording BE

start_console 80 24
wait_for "Zulu GmbH"
check_golden grid
keys Enter
wait_for "Tenant id"
check_golden customer-details
# the customer view's other tabs (H5); the audit rows' minute is masked
GOLDEN_MASK_BASE=$GOLDEN_MASK
GOLDEN_MASK+=';s/2026-11-10 [0-9]{2}:[0-9]{2}/2026-11-10 hh:mm/g'
# and who made them (the OS user running the test) in the Who column's width
me=$(id -un)
GOLDEN_MASK+=";s/$(printf '%-10.10s' "$me")/someone   /g;s/· $me ·/· someone ·/g"
keys 2
wait_for "Source / link"
check_golden customer-users
keys 5
wait_for "When (UTC)"
check_golden customer-activity
GOLDEN_MASK=$GOLDEN_MASK_BASE
keys Escape
wait_gone "Tenant id"
keys F1
wait_for "provdesk grid — keys"
check_golden help
keys Escape
wait_gone "provdesk grid — keys"
keys n
wait_for "1 Customer details"
check_golden wizard-step1
keys F10
check "the console exits 0" test "$(wait_exit)" = 0
check "nothing was created" test "$(q 'select count(*) from customers')" = 3

# below 80x24 the console says so instead of drawing a cut screen
start_console 60 20
wait_for "Terminal too small"
check_golden too-small
keys q
check "q quits the too-small screen" test "$(wait_exit)" = 0
finish
