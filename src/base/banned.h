/*
 * banned.h: functions that are easy to misuse are compile errors (git banned.h).
 * Use snprintf, cg_str_* and strtoll with explicit checks instead.
 */
#ifndef CG_BANNED_H
#define CG_BANNED_H

#define CG_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) CG_BANNED(strcpy)
#undef strcat
#define strcat(x, y) CG_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) CG_BANNED(strncpy)
#undef sprintf
#define sprintf(...) CG_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) CG_BANNED(vsprintf)
#undef gets
#define gets(x) CG_BANNED(gets)
#undef atoi
#define atoi(x) CG_BANNED(atoi)
#undef atol
#define atol(x) CG_BANNED(atol)

#endif
