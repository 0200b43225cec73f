/* Reads calendars with libical (the C library of Evolution, KDE and many servers), for
 * tests/support/calendar_check.py.  A long-lived process: each request on stdin is a line with
 * a byte count, then that many bytes of iCalendar.  The answer on stdout, one line each:
 *   E <text>                      libical found an error (parser or RFC 5546 restrictions)
 *   V <start> <end> <uid>         a VEVENT, its DTSTART/DTEND in Unix seconds (UTC), each TZID
 *                                 resolved through the calendar's own VTIMEZONE
 *   .                             the end of this calendar's answer
 * Built by the test session with `cc ical_check.c $(pkg-config --cflags --libs libical)`. */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void one_line(const char *text) {
    for (const char *p = text; p && *p; p++) putchar(*p == '\n' || *p == '\r' ? ' ' : *p);
}

static void errors_in(icalcomponent *comp) {
    for (icalproperty *prop = icalcomponent_get_first_property(comp, ICAL_XLICERROR_PROPERTY); prop;
         prop = icalcomponent_get_next_property(comp, ICAL_XLICERROR_PROPERTY)) {
        fputs("E ", stdout);
        one_line(icalcomponent_kind_to_string(icalcomponent_isa(comp)));
        fputs(": ", stdout);
        one_line(icalproperty_get_xlicerror(prop));
        putchar('\n');
    }
    for (icalcomponent *sub = icalcomponent_get_first_component(comp, ICAL_ANY_COMPONENT); sub;
         sub = icalcomponent_get_next_component(comp, ICAL_ANY_COMPONENT))
        errors_in(sub);
}

static long long utc_seconds(struct icaltimetype t) {
    if (icaltime_is_null_time(t)) return 0;
    icaltimezone *utc = icaltimezone_get_utc_timezone();
    return (long long)icaltime_as_timet_with_zone(t, t.zone ? t.zone : utc);
}

static void check(const char *text) {
    icalcomponent *root = icalparser_parse_string(text);
    if (root == NULL) {
        printf("E icalparser_parse_string returned nothing: %s\n.\n", icalerror_strerror(icalerrno));
        return;
    }
    if (icalcomponent_isa(root) != ICAL_VCALENDAR_COMPONENT) {
        printf("E the top component is %s, not VCALENDAR\n", icalcomponent_kind_to_string(icalcomponent_isa(root)));
    } else {
        icalrestriction_check(root); /* adds X-LIC-ERROR properties where RFC 5546 is not met */
        errors_in(root);
        for (icalcomponent *ev = icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT); ev;
             ev = icalcomponent_get_next_component(root, ICAL_VEVENT_COMPONENT)) {
            struct icaltimetype start = icalcomponent_get_dtstart(ev), end = icalcomponent_get_dtend(ev);
            icalproperty *dtstart = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY);
            icalparameter *tzid = dtstart ? icalproperty_get_first_parameter(dtstart, ICAL_TZID_PARAMETER) : NULL;
            if (tzid && icalcomponent_get_timezone(root, icalparameter_get_tzid(tzid)) == NULL)
                printf("E DTSTART TZID %s has no VTIMEZONE in the file\n", icalparameter_get_tzid(tzid));
            const char *uid = icalcomponent_get_uid(ev);
            printf("V %lld %lld ", utc_seconds(start), utc_seconds(end));
            one_line(uid ? uid : "");
            putchar('\n');
        }
    }
    puts(".");
    icalcomponent_free(root);
}

int main(void) {
    char header[64];
    while (fgets(header, sizeof header, stdin)) {
        long size = strtol(header, NULL, 10);
        if (size <= 0) continue;
        char *text = malloc((size_t)size + 1);
        if (text == NULL || fread(text, 1, (size_t)size, stdin) != (size_t)size) return 1;
        text[size] = '\0';
        check(text);
        free(text);
        fflush(stdout);
    }
    return 0;
}
