#!/usr/bin/env bash
# The reference story (docs/reference-story.md), played by an editor from the shell.
#
#   export LIVEBLOG_URL=http://127.0.0.1:8000 LIVEBLOG_TOKEN=<an editor token>
#   bash examples/reference-story.sh [SLUG]
#
# Every step sends an Idempotency-Key made from the slug and the step's name, so the script
# can be run again after a failure: steps already done are answered as before and recorded
# once. In another terminal, `liveblog-client follow SLUG` shows the story as it unfolds.
set -euo pipefail

slug="${1:-belgorod-captive-soldiers}"
client="${LIVEBLOG_CLIENT:-liveblog-client}"
pace="${PACE:-0}"   # seconds between steps, to watch it live

step() {  # step NAME COMMAND ARGS...: run one editor action with its own idempotency key
  local name="$1"; shift
  local command="$1"; shift
  sleep "$pace"
  "$client" "$command" --idempotency-key "reference:$slug:$name" "$@"
}

telegram="Freedom of Russia Legion, Telegram channel"
ministry="Russian defence ministry"
standing="The reports could not be independently verified."

# 1. Open the story as a draft, then publish it.
step open open "Fighters say they hold two Russian soldiers captive in Belgorod region" --slug "$slug" \
  --summary "Anti-Kremlin Russian fighters who crossed from Ukraine say they captured two soldiers and want to trade them for a meeting with the regional governor." >/dev/null
step publish publish "$slug" >/dev/null

# 2. The claim, with its source, unverified.
claim=$(step claim post "$slug" --source "$telegram" --claim unverified \
  "Two armed groups of Russians fighting on Kyiv's side, the **Freedom of Russia Legion** and the **Russian Volunteer Corps**, say they have captured two Russian soldiers. They offer to hand them over in exchange for a meeting with the governor of Belgorod region.")

# 3. A key event with a video, its deadline first typed in GMT by mistake.
deadline=$(step deadline post "$slug" --key-event --source "$telegram" --claim unverified \
  --media "video https://t.me/s/legionoffreedom The fighters' video" \
  "In a video, a man who says he commands the Russian Volunteer Corps tells Governor Vyacheslav Gladkov to come to the village of Novaya Tavolzhanka before 5 p.m. GMT if he wants the two captives handed to him.")

# 4. Correct the deadline, with a public note (If-Match on the revision just read).
step fix-deadline correct "$slug" "$deadline" --kind correction \
  --body "In a video, a man who says he commands the Russian Volunteer Corps tells Governor Vyacheslav Gladkov to come to the village of Novaya Tavolzhanka before 17:00 local time (14:00 GMT) if he wants the two captives handed to him." \
  --reason "Deadline converted to GMT by mistake; the statement gives local time." \
  --note "An earlier version of this update said the deadline was 5 p.m. GMT. It was 17:00 local time, which is 14:00 GMT." >/dev/null

# 5-8. More posts as the day goes on.
captives=$(step captives post "$slug" --claim unverified \
  "The video shows the two captives. One of them seems to be wounded and is lying on an operating table.")
ministry_claim=$(step ministry post "$slug" --source "$ministry" --claim unverified \
  "Russia's defence ministry says its artillery pushed back the latest attempt to cross the border. It calls the groups \"terrorists\" working for Kyiv.")
no_reaction=$(step no-reaction post "$slug" "There has been no immediate response from Gladkov or from Moscow.")
step denial post "$slug" \
  "Ukraine denies that it is directly involved and says the raids are a consequence of Russia's invasion." >/dev/null

# 9. The same denial posted twice by mistake, then retracted.
duplicate=$(step duplicate post "$slug" \
  "Ukraine denies that it is directly involved and says the raids are a consequence of Russia's invasion.")
step retract-duplicate retract "$slug" "$duplicate" --reason "Posted twice by mistake." \
  --note "This update duplicated an earlier one and has been withdrawn." >/dev/null

# 10. The governor's answer: a key event, pinned.
governor=$(step governor post "$slug" --key-event --pin \
  "About three hours after the fighters' video, Gladkov says in a video message that he will meet the group at the Shebekino checkpoint between 17:00 and 18:00 if the soldiers are alive, and guarantees their safety. He adds that they have most likely been killed.")

# 11. Retitle the story and revise its summary.
step retitle retitle "$slug" \
  --title "Belgorod governor says he is ready to meet the group holding two soldiers" \
  --summary "Governor Vyacheslav Gladkov offers to meet the anti-Kremlin fighters at a border checkpoint if the two captured soldiers are alive, but says they have probably been killed." \
  --reason "The governor has answered the fighters." >/dev/null

# 12. Clarify the update the governor's answer overtook.
step clarify-no-reaction correct "$slug" "$no_reaction" --kind clarification \
  --body "There was no immediate response from Gladkov or from Moscow. The governor has since responded: see the update on his video message." \
  --reason "Overtaken by the governor's video message." \
  --note "Gladkov has since responded; see the update on his video message." >/dev/null

# 13-14. Fighting; the ministry's claim, a key event; the governor's offer unpinned.
step fighting post "$slug" \
  "Gladkov says fighting with a group of \"Ukrainian saboteurs\" is under way in Novaya Tavolzhanka. He gives no details." >/dev/null
repelled=$(step repelled post "$slug" --key-event --source "$ministry" --claim unverified \
  "Russia's defence ministry says its forces have broken up the group and pushed the fighters back into Ukraine.")
step unpin-governor pin "$slug" "$governor" --unpin >/dev/null

# 15. Shelling, then a minor wording edit: no public note, but in the history.
shelling=$(step shelling post "$slug" \
  "Gladkov says Ukrainian forces shelled the region overnight. Two people were killed on Saturday evening and hundreds of children have been moved away from the border, he said on Sunday.")
step shelling-wording correct "$slug" "$shelling" --kind minor \
  --body "Gladkov says Ukrainian forces shelled the region overnight. Two people were killed on Saturday evening and hundreds of children have been moved away from the border, he said earlier on Sunday." \
  --reason "Wording: the governor spoke earlier in the day." >/dev/null

# 16. The standing note on every claim, a pinned note to readers, and the day's close.
for pair in "claim:$claim" "deadline:$deadline" "captives:$captives" "ministry:$ministry_claim" "repelled:$repelled"; do
  step "standing-note-${pair%%:*}" verify-claim "$slug" "${pair#*:}" unverified --note "$standing" >/dev/null
done
step standing-note post "$slug" --pin \
  "**Note to readers:** $standing Claims by the fighters, the governor and the defence ministry are reported as they were made." >/dev/null
step close close "$slug"
