# Prints the functions of a disassembly (objdump -d -C) that do double-precision
# arithmetic: those that call a software double routine, directly or through a code
# sequence the outliner factored out (OUTLINED_FUNCTION_n).
/^[0-9a-f]+ <.*>:$/ { fn = $0; sub(/^[0-9a-f]+ </, "", fn); sub(/>:$/, "", fn); next }
/\tb(l|\.w)?\t/ {
    target = $0
    if (!sub(/.*</, "", target)) next
    sub(/(\+0x[0-9a-f]+)?>.*$/, "", target)
    if (target ~ /^__aeabi_(d[a-z0-9]+|f2d|l2d|ul2d)$/) direct[fn] = 1
    if (target ~ /^OUTLINED_FUNCTION_/) outlined_callers[target] = outlined_callers[target] SUBSEP fn
}
END {
    for (f in direct) print f
    for (o in outlined_callers) if (o in direct) {
        n = split(outlined_callers[o], callers, SUBSEP)
        for (i = 2; i <= n; i++) print callers[i]
    }
}
