# bash completion for banctl(8): options, command words, jail names (asked
# of the running server with `banctl status`) and banctl regex's files.

_banctl_jails()
{
    # "`- Jail list:	api, login" in fail2ban-client's format.
    banctl "${_banctl_sock[@]}" status 2>/dev/null |
        sed -n 's/.*Jail list:[[:space:]]*//p' | tr -d ','
}

_banctl()
{
    local cur prev words cword
    _init_completion || return

    local -a _banctl_sock=()
    local i cmd_at=0
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -s | --socket | -c | --config | -o | --output | --timeout)
                [[ ${words[i]} == -s || ${words[i]} == --socket ]] && _banctl_sock=(-s "${words[i + 1]}")
                [[ ${words[i]} == -c || ${words[i]} == --config ]] && _banctl_sock=(-c "${words[i + 1]}")
                ((i++))
                ;;
            -*) ;;
            *)
                cmd_at=$i
                break
                ;;
        esac
    done

    case $prev in
        -s | --socket)
            _filedir
            return
            ;;
        -c | --config)
            _filedir '@(yaml|yml)'
            return
            ;;
        -o | --output)
            COMPREPLY=($(compgen -W 'text json' -- "$cur"))
            return
            ;;
        --timeout)
            return
            ;;
    esac

    if ((cmd_at == 0)); then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W '-s --socket -c --config -o --output --timeout -v -q -h --help -V --version' -- "$cur"))
        else
            COMPREPLY=($(compgen -W 'ping version server-status help reload stop status add start get set banned unban import-fail2ban regex' -- "$cur"))
        fi
        return
    fi

    local cmd=${words[cmd_at]} n=$((cword - cmd_at))
    case $cmd in
        regex | import-fail2ban)
            _filedir
            ;;
        status | start | stop | add | reload)
            ((n == 1)) && COMPREPLY=($(compgen -W "$(_banctl_jails) --all" -- "$cur"))
            ((n == 2)) && [[ $cmd == status ]] && COMPREPLY=($(compgen -W 'basic short' -- "$cur"))
            ;;
        get | set)
            if ((n == 1)); then
                COMPREPLY=($(compgen -W "$(_banctl_jails) loglevel dbfile dbpurgeage dbmaxmatches" -- "$cur"))
            elif ((n == 2)); then
                local opts='maxretry findtime bantime ignoreself idle ipv6prefix ignoreip actions banned banip bantime.increment bantime.factor bantime.formula bantime.multipliers bantime.maxtime bantime.rndtime bantime.overalljails'
                [[ $cmd == set ]] && opts+=' attempt banip unbanip addignoreip delignoreip addaction delaction'
                COMPREPLY=($(compgen -W "$opts" -- "$cur"))
            fi
            ;;
        unban)
            ((n == 1)) && COMPREPLY=($(compgen -W '--all' -- "$cur"))
            ;;
    esac
} &&
    complete -F _banctl banctl
