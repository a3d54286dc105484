# Tool-calling rows in TRL's format (messages with assistant tool_calls and tool results,
# per-row tools), generated from the hand-written templates below with a fixed seed.
import json, random

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "도시의 날씨 예보를 알려 준다.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "도시 이름 (예: 서울)"},
            "date": {"type": "string", "description": "날짜 (YYYY-MM-DD)"}},
            "required": ["city", "date"]}}},
    {"type": "function", "function": {
        "name": "add_calendar_event", "description": "달력에 일정을 추가한다.",
        "parameters": {"type": "object", "properties": {
            "title": {"type": "string", "description": "일정 제목"},
            "date": {"type": "string", "description": "날짜 (YYYY-MM-DD)"},
            "time": {"type": "string", "description": "시작 시각 (HH:MM, 24시간제)"}},
            "required": ["title", "date", "time"]}}},
    {"type": "function", "function": {
        "name": "convert_units", "description": "값을 다른 단위로 변환한다.",
        "parameters": {"type": "object", "properties": {
            "value": {"type": "number", "description": "변환할 값"},
            "from_unit": {"type": "string", "enum": ["km", "mile", "kg", "lb", "celsius", "fahrenheit", "cm", "inch", "pyeong", "m2"]},
            "to_unit": {"type": "string", "enum": ["km", "mile", "kg", "lb", "celsius", "fahrenheit", "cm", "inch", "pyeong", "m2"]}},
            "required": ["value", "from_unit", "to_unit"]}}},
    {"type": "function", "function": {
        "name": "search_web", "description": "웹에서 검색해 결과 요약을 돌려준다.",
        "parameters": {"type": "object", "properties": {
            "query": {"type": "string", "description": "검색어"}},
            "required": ["query"]}}},
]

SYSTEM = "당신은 도구를 쓸 수 있는 한국어 비서입니다. 오늘은 2025-05-12(월)입니다."
DATES = {"오늘": "2025-05-12", "내일": "2025-05-13", "모레": "2025-05-14", "이번 주 토요일": "2025-05-17"}
CITIES = ["서울", "부산", "대구", "인천", "광주", "대전", "제주", "강릉", "전주", "수원"]
CONDITIONS = ["맑음", "구름 많음", "흐림", "비", "소나기"]


def josa(word, with_batchim, without):
    """Korean particle choice: 은/는, 을/를, 이/가 depend on whether the last syllable has a final consonant."""
    ch = word[-1]
    if not ("가" <= ch <= "힣"):
        return word + without
    return word + (with_batchim if (ord(ch) - 0xAC00) % 28 else without)


def call(name, **args):
    return {"type": "function", "function": {"name": name, "arguments": args}}


def row(user, calls, results, answer, system=True):
    msgs = [{"role": "system", "content": SYSTEM}] if system else []
    msgs.append({"role": "user", "content": user})
    if calls:
        msgs.append({"role": "assistant", "tool_calls": calls})
        for c, r in zip(calls, results):
            msgs.append({"role": "tool", "name": c["function"]["name"], "content": json.dumps(r, ensure_ascii=False)})
    msgs.append({"role": "assistant", "content": answer})
    return {"messages": msgs, "tools": TOOLS, "source": "sample_tools"}


def weather(rnd):
    out = []
    asks = ["{d} {c} 날씨 어때?", "{c}의 {d} 날씨 알려 줘.", "{d} {c}에 비 와?", "{c} {d} 기온이 궁금해요."]
    for i in range(16):
        city, (dname, date) = rnd.choice(CITIES), rnd.choice(list(DATES.items()))
        cond, temp, rain = rnd.choice(CONDITIONS), rnd.randint(12, 27), rnd.choice([0, 10, 20, 30, 60, 80])
        res = {"city": city, "date": date, "condition": cond, "temp_c": temp, "rain_prob": rain}
        ans = f"{city}의 {dname} 날씨는 {cond}, 기온은 {temp}도, 비 올 확률은 {rain}%예요."
        out.append(row(asks[i % len(asks)].format(d=dname, c=city), [call("get_weather", city=city, date=date)], [res], ans))
    for i in range(4):  # two cities in one turn: two calls
        a, b = rnd.sample(CITIES, 2)
        dname, date = rnd.choice(list(DATES.items()))
        ra = {"city": a, "date": date, "condition": rnd.choice(CONDITIONS), "temp_c": rnd.randint(12, 27), "rain_prob": rnd.choice([0, 20, 60])}
        rb = {"city": b, "date": date, "condition": rnd.choice(CONDITIONS), "temp_c": rnd.randint(12, 27), "rain_prob": rnd.choice([0, 20, 60])}
        ans = (f"{dname} {josa(a, '은', '는')} {ra['condition']}, {ra['temp_c']}도이고, "
               f"{josa(b, '은', '는')} {rb['condition']}, {rb['temp_c']}도예요.")
        out.append(row(f"{dname} {a}하고 {b} 날씨 비교해 줘.",
                       [call("get_weather", city=a, date=date), call("get_weather", city=b, date=date)], [ra, rb], ans))
    return out


def calendar(rnd):
    titles = ["팀 회의", "치과 예약", "친구 저녁 약속", "헬스장", "부모님 생신 식사", "프로젝트 발표", "영어 학원", "은행 방문",
              "독서 모임", "면접", "요가 수업", "동창회", "코드 리뷰", "병원 진료", "이삿짐 정리", "고객 미팅", "세미나", "가족 여행 출발",
              "자동차 정비", "스터디"]
    hours = [(9, "오전 9시"), (10, "오전 10시"), (11, "오전 11시"), (14, "오후 2시"), (15, "오후 3시"), (16, "오후 4시"),
             (18, "오후 6시"), (19, "오후 7시"), (20, "오후 8시")]
    asks = ["{d} {h}에 {t} 일정 잡아 줘.", "{t} 일정을 {d} {h}으로 추가해 줘.", "{d} {h} {t} 달력에 넣어 줘.", "{d} {h}에 {t} 있어. 기록해 줘."]
    out = []
    for i, t in enumerate(titles):
        (dname, date), (hh, hname) = rnd.choice(list(DATES.items())), rnd.choice(hours)
        time = f"{hh:02d}:00"
        res = {"status": "ok", "event_id": f"evt-{1000 + i}"}
        ans = f"{dname}({date}) {hname}에 '{t}' 일정을 추가했어요."
        out.append(row(asks[i % len(asks)].format(d=dname, h=hname, t=t), [call("add_calendar_event", title=t, date=date, time=time)], [res], ans))
    return out


UNITS = {"km": "킬로미터", "mile": "마일", "kg": "킬로그램", "lb": "파운드", "celsius": "섭씨", "fahrenheit": "화씨",
         "cm": "센티미터", "inch": "인치", "pyeong": "평", "m2": "제곱미터"}


def convert(v, f, t):
    # Exact definitions: international mile 1.609344 km, avoirdupois pound 0.45359237 kg,
    # inch 2.54 cm, 1 평 = 400/121 m² (6 자 × 6 자, 1 자 = 10/33 m).
    k = {("km", "mile"): 1 / 1.609344, ("mile", "km"): 1.609344, ("kg", "lb"): 1 / 0.45359237, ("lb", "kg"): 0.45359237,
         ("cm", "inch"): 1 / 2.54, ("inch", "cm"): 2.54, ("pyeong", "m2"): 400 / 121, ("m2", "pyeong"): 121 / 400}
    if (f, t) == ("celsius", "fahrenheit"):
        return v * 9 / 5 + 32
    if (f, t) == ("fahrenheit", "celsius"):
        return (v - 32) * 5 / 9
    return v * k[(f, t)]


def fmt(x):
    r = round(x, 2)
    return str(int(r)) if r == int(r) else f"{r:.2f}".rstrip("0")


def units(rnd):
    cases = [(10, "km", "mile"), (5, "mile", "km"), (26.2, "mile", "km"), (70, "kg", "lb"), (150, "lb", "kg"), (3, "kg", "lb"),
             (30, "celsius", "fahrenheit"), (100, "fahrenheit", "celsius"), (-5, "celsius", "fahrenheit"), (180, "cm", "inch"),
             (27, "inch", "cm"), (65, "inch", "cm"), (32, "pyeong", "m2"), (84, "m2", "pyeong"), (25, "pyeong", "m2"),
             (42.195, "km", "mile"), (200, "lb", "kg"), (37.5, "celsius", "fahrenheit"), (59, "m2", "pyeong"), (15, "cm", "inch")]
    asks = ["{v} {f_eun} 몇 {t_ya}?", "{v} {f_eul} {t} 단위로 바꿔 줘.", "{v} {f_eul} {t} 단위로 알려 줘.", "{v} {f_myeon} {t}로 얼마예요?"]
    out = []
    for i, (v, f, t) in enumerate(cases):
        r = convert(v, f, t)
        res = {"value": round(r, 2), "unit": t}
        vs = str(v)
        if f in ("celsius", "fahrenheit"):
            q = f"{UNITS[f]} {vs}도는 {UNITS[t]}로 몇 도야?"
            ans = f"{UNITS[f]} {vs}도는 {UNITS[t]} 약 {fmt(r)}도예요."
        else:
            q = asks[i % len(asks)].format(v=vs, f=UNITS[f], t=UNITS[t], f_eun=josa(UNITS[f], "은", "는"), f_eul=josa(UNITS[f], "을", "를"), t_ya=josa(UNITS[t], "이야", "야"), f_myeon=josa(UNITS[f], "이면", "면"))
            ans = f"{vs} {josa(UNITS[f], '은', '는')} 약 {fmt(r)} {josa(UNITS[t], '이에요', '예요')}."
        out.append(row(q,
                       [call("convert_units", value=v, from_unit=f, to_unit=t)], [res], ans))
    return out


SEARCHES = [
    ("한글날이 언제야?", "한글날 날짜", "한글날은 매년 10월 9일로, 훈민정음 반포를 기념하는 국경일이다.", "한글날은 매년 10월 9일이에요."),
    ("세종대왕이 한글을 반포한 해는?", "훈민정음 반포 연도", "세종은 1446년에 훈민정음을 반포하였다.", "1446년이에요."),
    ("제주도에서 가장 높은 산은?", "제주도 가장 높은 산", "한라산은 해발 1,947미터로 제주도에서 가장 높은 산이다.", "한라산이에요. 높이는 1,947미터예요."),
    ("우리나라에서 가장 긴 강은?", "한국 가장 긴 강", "낙동강은 길이 약 510킬로미터로 남한에서 가장 긴 강이다.", "남한에서는 낙동강이 가장 길어요. 약 510킬로미터예요."),
    ("마라톤 풀코스 거리 알려 줘.", "마라톤 풀코스 거리", "마라톤 풀코스는 42.195킬로미터이다.", "마라톤 풀코스는 42.195킬로미터예요."),
    ("파이썬은 누가 만들었어?", "파이썬 창시자", "파이썬은 귀도 반 로섬이 만들어 1991년에 처음 공개했다.", "귀도 반 로섬이 만들었고, 1991년에 처음 공개됐어요."),
    ("광복절은 며칠이야?", "광복절 날짜", "광복절은 8월 15일로, 1945년 광복을 기념한다.", "광복절은 8월 15일이에요."),
    ("지구에서 태양까지 거리는?", "지구 태양 거리", "지구와 태양 사이의 평균 거리는 약 1억 4960만 킬로미터이다.", "평균 약 1억 4960만 킬로미터예요."),
    ("빛의 속도는 얼마야?", "빛의 속도", "진공에서 빛의 속도는 초속 299,792,458미터이다.", "진공에서 초속 약 30만 킬로미터예요."),
    ("에베레스트산 높이는?", "에베레스트산 높이", "에베레스트산의 높이는 해발 8,849미터이다.", "해발 8,849미터예요."),
    ("경복궁은 언제 지어졌어?", "경복궁 창건 연도", "경복궁은 1395년에 조선의 법궁으로 창건되었다.", "1395년에 지어졌어요."),
    ("올림픽은 몇 년마다 열려?", "올림픽 개최 주기", "하계 올림픽과 동계 올림픽은 각각 4년마다 열린다.", "하계와 동계 올림픽은 각각 4년마다 열려요."),
]

DIRECT = [
    ("안녕?", "안녕하세요! 날씨, 일정, 단위 변환, 검색을 도와드릴 수 있어요."),
    ("고마워.", "천만에요. 또 필요한 게 있으면 말씀해 주세요."),
    ("너는 뭘 할 수 있어?", "날씨 조회, 일정 추가, 단위 변환, 웹 검색을 할 수 있어요."),
    ("3 더하기 4는?", "7이에요."),
    ("오늘 무슨 요일이야?", "오늘은 2025년 5월 12일 월요일이에요."),
    ("내일 날짜 알려 줘.", "내일은 2025년 5월 13일 화요일이에요."),
    ("좋은 하루 보내.", "감사합니다. 좋은 하루 보내세요!"),
    ("일정 추가해 줘.", "어떤 일정을 언제, 몇 시에 추가할까요?"),
]


def build():
    rnd = random.Random(20250512)
    rows = weather(rnd) + calendar(rnd) + units(rnd)
    rows += [row(q, [call("search_web", query=k)], [{"results": [{"title": k, "snippet": s}]}], a) for q, k, s, a in SEARCHES]
    rows += [row(q, [], [], a) for q, a in DIRECT]
    return rows
