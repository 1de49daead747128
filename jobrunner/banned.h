/* banned.h: functions we never call. Including this after the system headers
 * turns a call to one of them into a compile error (as git does). Use
 * snprintf, jr_buf or memcpy with an explicit length instead. */
#ifndef JR_BANNED_H
#define JR_BANNED_H

#define JR_BANNED(func) sorry_##func##_is_banned_in_jobrunner

#undef strcpy
#define strcpy(x, y) JR_BANNED(strcpy)
#undef strcat
#define strcat(x, y) JR_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) JR_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) JR_BANNED(strncat)
#undef sprintf
#define sprintf(...) JR_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) JR_BANNED(vsprintf)
#undef gets
#define gets(x) JR_BANNED(gets)
#undef strtok
#define strtok(x, y) JR_BANNED(strtok)
#undef system
#define system(x) JR_BANNED(system)
#undef popen
#define popen(x, y) JR_BANNED(popen)

#endif
