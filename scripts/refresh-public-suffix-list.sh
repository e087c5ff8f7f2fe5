#!/usr/bin/env bash
# Refreshes the Public Suffix List bundled with the ProvisionerDomain target.
#
# Google refuses redirect URIs and origins whose top-level domain is not on the
# Public Suffix List, and the service checks the same list before issuing values.
# The list comes from Debian's `publicsuffix` package (the registries this project
# can reach), so an update is: upgrade that package, run this script, commit the file.
set -euo pipefail

readonly source_file=/usr/share/publicsuffix/public_suffix_list.dat
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly repo_root
readonly target_file="${repo_root}/Sources/ProvisionerDomain/Resources/public_suffix_list.dat"

if [[ ! -r "${source_file}" ]]; then
    if [[ "$(id -u)" -eq 0 ]]; then
        sudo_cmd=()
    else
        sudo_cmd=(sudo)
    fi
    echo "Installing Debian package publicsuffix..." >&2
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq publicsuffix
fi

# A truncated or empty file would make every host "unknown": refuse to copy one.
if ! grep -q '^// ===BEGIN ICANN DOMAINS===' "${source_file}" || ! grep -qx 'com' "${source_file}"; then
    echo "error: ${source_file} does not look like the Public Suffix List" >&2
    exit 1
fi

mkdir -p "$(dirname "${target_file}")"
cp "${source_file}" "${target_file}"
echo "Copied $(grep -cv '^\(//\|$\)' "${target_file}") rules from ${source_file} ($(dpkg-query -W -f='${Version}' publicsuffix 2>/dev/null || echo 'unknown version')) to ${target_file}" >&2
