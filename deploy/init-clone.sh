#!/bin/sh
# Init step of the clone-on-a-volume deployment: make $STATEBOX_REPO a clone
# of $STATEBOX_CLONE_URL whose record branch is current. Idempotent: run on
# an existing clone it only fetches (and changes nothing when the remote has
# not moved); a clone left half-written by a killed run is detected and redone.
set -eu
: "${STATEBOX_REPO:?set STATEBOX_REPO to the clone path}"
: "${STATEBOX_CLONE_URL:?set STATEBOX_CLONE_URL to the remote}"
branch=${STATEBOX_BRANCH:-record}
remote=${STATEBOX_REMOTE:-origin}
done_mark="$STATEBOX_REPO/.git/statebox-clone-complete"

if [ -d "$STATEBOX_REPO/.git" ] && [ ! -f "$done_mark" ]; then
    echo "statebox-init-clone: $STATEBOX_REPO is a clone left unfinished; cloning again" >&2
    rm -rf "$STATEBOX_REPO"
fi
if [ ! -d "$STATEBOX_REPO/.git" ]; then
    # Clone beside the target and move it in at once, so a kill leaves either
    # nothing or a whole clone (the mark is written last).
    partial="$STATEBOX_REPO.partial"
    rm -rf "$partial"
    git clone --quiet --no-checkout --origin "$remote" "$STATEBOX_CLONE_URL" "$partial"
    touch "$partial/.git/statebox-clone-complete"
    mkdir -p "$(dirname "$STATEBOX_REPO")"
    rm -rf "$STATEBOX_REPO"
    mv "$partial" "$STATEBOX_REPO"
fi
cd "$STATEBOX_REPO"
git remote set-url "$remote" "$STATEBOX_CLONE_URL"
git fetch --quiet "$remote" "+refs/heads/$branch:refs/remotes/$remote/$branch" 2>/dev/null || {
    echo "statebox-init-clone: the remote has no branch '$branch' yet; statebox creates it on the first write" >&2
    exit 0
}
# The local record branch: created from the remote's if missing. A local
# branch ahead of the remote (writes an outage kept local) is left alone:
# statebox sync delivers it.
if ! git rev-parse --verify --quiet "refs/heads/$branch" >/dev/null; then
    git update-ref "refs/heads/$branch" "refs/remotes/$remote/$branch"
fi
