#!/bin/sh
@env@exec @command@ "$@"
