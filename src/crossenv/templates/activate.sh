# crossenv activation: source this file from bash, zsh, dash, ...
# Afterwards python/pip are the cross ones; build-python/build-pip stay native.
# "deactivate" undoes it.
# shellcheck shell=sh

deactivate () {
    if [ -n "${_CROSSENV_OLD_PATH+set}" ]; then
        PATH="$_CROSSENV_OLD_PATH"
        export PATH
        unset _CROSSENV_OLD_PATH
    fi
    if [ -n "${_CROSSENV_OLD_PS1+set}" ]; then
        PS1="$_CROSSENV_OLD_PS1"
        export PS1
        unset _CROSSENV_OLD_PS1
    fi
    if [ -n "${_CROSSENV_OLD_VIRTUAL_ENV+set}" ]; then
        VIRTUAL_ENV="$_CROSSENV_OLD_VIRTUAL_ENV"
        export VIRTUAL_ENV
        unset _CROSSENV_OLD_VIRTUAL_ENV
    else
        unset VIRTUAL_ENV
    fi
    unset CROSSENV_ENV
    hash -r 2>/dev/null
    if [ ! "${1:-}" = "nondestructive" ]; then
        unset -f deactivate
    fi
}

deactivate nondestructive

_CROSSENV_OLD_PATH="$PATH"
PATH=@bin_dir@:@cross_bin@:@build_bin@:"$PATH"
export PATH
if [ -n "${VIRTUAL_ENV+set}" ]; then
    _CROSSENV_OLD_VIRTUAL_ENV="$VIRTUAL_ENV"
fi
VIRTUAL_ENV=@cross_prefix@
export VIRTUAL_ENV
CROSSENV_ENV=@env_dir@
export CROSSENV_ENV
if [ -z "${CROSSENV_DISABLE_PROMPT:-}${VIRTUAL_ENV_DISABLE_PROMPT:-}" ]; then
    _CROSSENV_OLD_PS1="${PS1-}"
    PS1=@prompt@"${PS1-}"
    export PS1
fi
hash -r 2>/dev/null
