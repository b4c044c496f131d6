package i18n

import (
	"fmt"
	"time"
	_ "time/tzdata" // Asia/Riyadh must resolve on machines without tzdata

	hijri "github.com/hablullah/go-hijri"
)

// Riyadh is the time zone every date is shown in (UTC+3, no daylight saving).
var Riyadh = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Riyadh")
	if err != nil {
		return time.FixedZone("AST", 3*60*60)
	}
	return loc
}()

var (
	hijriMonthsAr = [12]string{"محرم", "صفر", "ربيع الأول", "ربيع الآخر", "جمادى الأولى", "جمادى الآخرة",
		"رجب", "شعبان", "رمضان", "شوال", "ذو القعدة", "ذو الحجة"}
	hijriMonthsEn = [12]string{"Muharram", "Safar", "Rabi' al-Awwal", "Rabi' al-Thani", "Jumada al-Ula",
		"Jumada al-Akhirah", "Rajab", "Sha'ban", "Ramadan", "Shawwal", "Dhu al-Qa'dah", "Dhu al-Hijjah"}
	gregMonthsAr = [12]string{"يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس",
		"سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"}
)

// HijriDate is a date in the Umm al-Qura calendar.
type HijriDate struct{ Year, Month, Day int }

// ToHijri converts t (taken in Riyadh time) to the Umm al-Qura calendar.
// ok is false outside the table's range (1937–2077).
func ToHijri(t time.Time) (HijriDate, bool) {
	t = t.In(Riyadh)
	d, err := hijri.CreateUmmAlQuraDate(time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, time.UTC))
	if err != nil {
		return HijriDate{}, false
	}
	return HijriDate{Year: int(d.Year), Month: int(d.Month), Day: int(d.Day)}, true
}

// Date formats t as its Hijri and Gregorian dates in Riyadh, with Western
// digits: "23 جمادى الأولى 1443 هـ — 27 ديسمبر 2021" or
// "23 Jumada al-Ula 1443 AH — 27 December 2021".
func (l *Lang) Date(t time.Time) string {
	t = t.In(Riyadh)
	greg := fmt.Sprintf("%d %s %d", t.Day(), t.Month().String(), t.Year())
	hmonths := hijriMonthsEn
	if l.Code == Arabic {
		greg = fmt.Sprintf("%d %s %d", t.Day(), gregMonthsAr[t.Month()-1], t.Year())
		hmonths = hijriMonthsAr
	}
	h, ok := ToHijri(t)
	if !ok {
		return greg
	}
	return fmt.Sprintf("%d %s %d %s — %s", h.Day, hmonths[h.Month-1], h.Year, l.T("date.hijri_suffix"), greg)
}

// DateTime is Date followed by the 24-hour Riyadh time: "… 2021، 14:05".
func (l *Lang) DateTime(t time.Time) string {
	sep := ", "
	if l.Code == Arabic {
		sep = "، "
	}
	return l.Date(t) + sep + t.In(Riyadh).Format("15:04")
}
