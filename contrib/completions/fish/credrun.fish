# SPDX-License-Identifier: MIT
# fish completion for credrun(1), installed into fish's vendor_completions.d.
# tests/15-packaging.bats checks that every long option `credrun --help`
# prints is here and each profile follows -p.

# The profiles: the built-in ones and the sections of the user's profiles.conf.
function __credrun_profiles
    printf '%s\n' claude eca codex relay json
    set -l conf (set -q XDG_CONFIG_HOME; and echo $XDG_CONFIG_HOME; or echo $HOME/.config)/credrun/profiles.conf
    test -r $conf; and sed -n 's/^[[:space:]]*\[[[:space:]]*\([^]/[:space:]]*\)[^]]*\][[:space:]]*$/\1/p' $conf
end

# Options stop at COMMAND, which is completed as a command line of its own.
function __credrun_no_command
    set -l words (commandline -opc)
    set -e words[1]
    set -l skip 0
    for w in $words
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case --
                return 1
            case -p --profile --provider --credentials --token-url --client-id --cacert -m --min-validity --env --lock-scope --lock-file -w --timeout -E --conflict-exit-code --http-timeout --settle --access-field --refresh-field --expiry-field --expiry-unit --request
                set skip 1
            case '-*'
            case '*'
                return 1
        end
    end
    return 0
end

complete -c credrun -f
complete -c credrun -n 'not __credrun_no_command' -x -a '(__fish_complete_subcommand -p --profile --provider --credentials --token-url --client-id --cacert -m --min-validity --env --lock-scope --lock-file -w --timeout -E --conflict-exit-code --http-timeout --settle --access-field --refresh-field --expiry-field --expiry-unit --request)'
complete -c credrun -n __credrun_no_command -a '(__fish_complete_command)'

set -l n -n __credrun_no_command
complete -c credrun $n -s p -l profile -x -a '(__credrun_profiles)' -d 'the tool whose file it is'
complete -c credrun $n -l provider -x -a 'anthropic openai' -d 'the login to use in a file with several'
complete -c credrun $n -l credentials -r -F -d 'credentials file'
complete -c credrun $n -l token-url -x -d 'token endpoint'
complete -c credrun $n -l client-id -x -d 'OAuth client id'
complete -c credrun $n -l cacert -r -F -d 'CA bundle to verify the endpoint with'
complete -c credrun $n -s m -l min-validity -x -d 'refresh when the token expires within SECS'
complete -c credrun $n -l force -d 'refresh even if the token is still valid'
complete -c credrun $n -l env -x -a '(set -n)' -d 'variable that receives the access token'
complete -c credrun $n -l no-env -d 'export no token'
complete -c credrun $n -l lock-scope -x -a 'command refresh' -d 'how long the lock is held'
complete -c credrun $n -l lock-file -r -F -d 'lock file'
complete -c credrun $n -s n -l nonblock -d 'fail (exit 75) rather than wait for the lock'
complete -c credrun $n -s w -l timeout -x -d 'fail (exit 75) if the lock is not had within SECS'
complete -c credrun $n -s E -l conflict-exit-code -x -d 'exit status when the lock is busy'
complete -c credrun $n -l http-timeout -x -d 'bound for the whole refresh request'
complete -c credrun $n -l settle -x -d 'on a network filesystem, re-read after this before spending'
complete -c credrun $n -l refresh -d 'refresh if needed and exit'
complete -c credrun $n -l access-field -x -d 'JSON pointer to the access token'
complete -c credrun $n -l refresh-field -x -d 'JSON pointer to the refresh token'
complete -c credrun $n -l expiry-field -x -d 'JSON pointer to the expiry'
complete -c credrun $n -l expiry-unit -x -a 's ms iso8601 jwt' -d 'unit of the expiry'
complete -c credrun $n -l request -x -a 'json form json:' -d 'token request body'
complete -c credrun $n -l supervise -d 'stay as COMMAND\'s parent and keep the file fresh'
complete -c credrun $n -l no-kill-on-exit -d 'COMMAND is not sent SIGTERM when credrun dies'
complete -c credrun $n -l status -d 'report how the login stands; no request, no lock'
complete -c credrun $n -l json -d 'with --status: one JSON document'
complete -c credrun $n -s v -l verbose -d 'say what is done'
complete -c credrun $n -s q -l quiet -d 'print errors only'
complete -c credrun $n -s h -l help -d 'show the help and exit'
complete -c credrun $n -s V -l version -d 'show the version and exit'
