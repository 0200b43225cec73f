// Reads calendars with Mozilla's ical.js (the parser of Thunderbird and Nextcloud), for
// tests/support/calendar_check.py.  One JSON request per stdin line, {"ics": "..."}; one JSON
// answer per stdout line: {"error": "..."} or {"events": {uid: [startUnix, endUnix]}, "details":
// {uid: {sequence, status, summary}}}, with TZIDs resolved through the calendar's own VTIMEZONEs.
import ICAL from "ical.js";
import readline from "node:readline";

function read(ics) {
  try {
    const root = new ICAL.Component(ICAL.parse(ics));
    for (const vtz of root.getAllSubcomponents("vtimezone")) {
      ICAL.TimezoneService.register(new ICAL.Timezone(vtz));
    }
    const events = {};
    const details = {};
    for (const vevent of root.getAllSubcomponents("vevent")) {
      const event = new ICAL.Event(vevent);
      events[event.uid] = [event.startDate.toUnixTime(), event.endDate.toUnixTime()];
      details[event.uid] = {
        sequence: event.sequence,
        status: vevent.getFirstPropertyValue("status"),
        summary: event.summary,
      };
    }
    return { events, details };
  } catch (err) {
    return { error: String(err) };
  } finally {
    ICAL.TimezoneService.reset();
  }
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (line.trim()) process.stdout.write(JSON.stringify(read(JSON.parse(line).ics)) + "\n");
}
