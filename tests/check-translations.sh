#!/bin/bash
# The translations are current, complete and well-formed, and the CLI speaks
# them: a POT made now from po/POTFILES.in (as meson's i18n 'glib' preset
# extracts it) has no message cut short, and every .po of po/LINGUAS has a
# translation for each of its messages, no stale one, and passes
# `msgfmt --check`;
# `LANGUAGE=de vfio-variant` on the demo host prints German, read from the
# catalogue meson built in the build tree (VV_LOCALEDIR, honoured only under
# VV_TESTSUITE), and English without it, so the German comes from that
# catalogue and nothing else. After adding or changing a message:
#   meson compile -C build vfio-variant-pot vfio-variant-update-po
# then translate the new entries of each po/*.po (docs/testing.md).
# Usage: check-translations.sh SOURCE_ROOT VFIO_VARIANT HOSTS_DIR LOCALEDIR
set -u
root=$1 cli=$(realpath "$2") hosts=$3 localedir=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0 failed=0

check() { # LABEL PROBLEM (empty: passed)
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1: $2"
		failed=$((failed + 1))
	fi
}

cd "$root" || exit 1
languages=$(grep -v '^#' po/LINGUAS | tr -s ' \n' '\n' | sed '/^$/d')
pofiles=(po/*.po)
echo "1..$((2 + 3 * $(wc -w <<<"$languages") + ${#pofiles[@]} + 6))"

# The keywords and flags of meson's i18n.gettext(preset: 'glib').
xgettext --from-code=UTF-8 --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
	--keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
	--flag=N_:1:pass-c-format --flag=g_set_error:4:c-format --flag=g_printerr:1:c-format \
	--flag=g_print:1:c-format --flag=g_strdup_printf:1:c-format \
	-o "$work/now.pot" -f po/POTFILES.in 2>"$work/xgettext.err"
check "xgettext extracts the marked messages" \
	"$( [ -s "$work/now.pot" ] || echo "xgettext failed: $(cat "$work/xgettext.err")")"
# A format macro (G_GSIZE_FORMAT) cuts a msgid short: it can never be translated.
check "no message is cut short by a format macro" "$(grep -i 'ends in the middle of a directive' "$work/xgettext.err")"

for lang in $languages; do
	po=po/$lang.po
	problem=$(msgfmt --check --statistics -o /dev/null "$po" 2>&1) \
		&& ! grep -qE 'fuzzy|untranslated' <<<"$problem" && problem=""
	check "$po: msgfmt --check passes, nothing fuzzy or untranslated" "$problem"
	# msgcmp DEF REF: every msgid of REF has a translation in DEF.
	problem=$(msgcmp "$po" "$work/now.pot" 2>&1) || true
	check "$po: a translation for every message marked now" "$problem"
	problem=$(msgcmp --use-untranslated "$work/now.pot" "$po" 2>&1) || true
	problem+=$(grep -m1 '^#~' "$po")
	check "$po: no stale or obsolete message" "$problem"
done
for po in "${pofiles[@]}"; do
	check "$po is in po/LINGUAS" \
		"$(grep -qx "$(basename "$po" .po)" <<<"$languages" || echo "it is not, so it is neither built nor installed")"
done
check "po/LINGUAS names German" "$(grep -qx de <<<"$languages" || echo "de is missing")"

# The CLI in German, from the build tree's catalogue.
mo=$localedir/de/LC_MESSAGES/vfio-variant.mo
check "meson built $mo" "$( [ -f "$mo" ] || echo "it is missing")"
run() { # ENV... -- ARGS...: stdout and stderr of the CLI in $work/out, $work/err
	local env=()
	while [ "$1" != -- ]; do env+=("$1"); shift; done
	shift
	env LC_ALL=C.UTF-8 "${env[@]}" "$cli" "$@" >"$work/out" 2>"$work/err"
}
expect() { # FILE TEXT...: every TEXT is a line or part of one in FILE
	local file=$1 text
	shift
	for text in "$@"; do
		grep -qF -- "$text" "$file" || { echo "'$text' not in: $(head -c 600 "$file")"; return; }
	done
}
run LANGUAGE=de VV_LOCALEDIR="$localedir" -- --sysroot "$hosts/demo" explain 0000:01:00.2
check "LANGUAGE=de explain speaks German (the library's and the CLI's messages)" "$(expect "$work/out" \
	'Gerät 0000:01:00.2 (pci_0000_01_00_2), 15b3:101e Subsystem 15b3:0016 Klasse 020000' \
	'  IOMMU-Gruppe:   12 (nutzbar), Mitglieder: 0000:01:00.2' \
	'Kandidaten, der beste zuerst:' \
	'Gewählt: der spezifischste Treffer, mit 2 von 7 vollständig angegebenen Feldern (Spezifität 4).' \
	'Ergebnis: mlx5_vfio_pci ist gewählt; sein Treibername ist bekannt, sobald das Modul geladen ist.')"
run LANGUAGE=de VV_LOCALEDIR="$localedir" -- --sysroot "$hosts/demo" explain 7f:00.0
check "LANGUAGE=de: an error in German, its argument in place" "$(expect "$work/err" \
	'vfio-variant: Fehler: Auf diesem Host gibt es kein PCI-Gerät 0000:7f:00.0 (')"
run LANGUAGE=de VV_LOCALEDIR="$localedir" -- --help
check "LANGUAGE=de --help: GOption's entries through the domain" "$(expect "$work/out" \
	'Befehle:' 'Die Version anzeigen')"
# The control: bound to an empty directory instead (which also hides any
# catalogue installed under the compiled-in LOCALEDIR), the same run is English.
run LANGUAGE=de VV_LOCALEDIR="$work/none" -- --sysroot "$hosts/demo" explain 0000:01:00.2
check "LANGUAGE=de without the catalogue: English, so the German above is the catalogue's" \
	"$(expect "$work/out" 'Candidates, best first:')"

exit $((failed > 0))
