# test_smol.sh: the command itself: listing, help, version, unknown commands.
source "$(dirname "$0")/lib.sh"
t_no_args_lists_commands() { "$SMOL" | grep -q '^  version'; }
t_help_cmd() { "$SMOL" help version | grep -q 'example'; "$SMOL" version --help | grep -q 'example'; }
t_version_shows_cpu() { "$SMOL" version | grep -q '^cpu: '; }
t_unknown_command_exit_2() { set +e; "$SMOL" nosuch 2>"$TMP/err"; [ $? -eq 2 ] && grep -q "unknown command 'nosuch'" "$TMP/err"; }
t_every_command_has_example() {
  for c in $("$SMOL" | awk '/^commands:/{f=1;next} f && /^  [a-z]/{print $1}'); do
    [ "$c" = help ] && continue
    "$SMOL" help "$c" | grep -qi 'example' || fail "smol help $c has no example"
  done
}
run_tests
