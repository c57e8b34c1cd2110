// Texts of the board in Russian (default) and English. Keys are used by data-i18n attributes
// in index.html and by board.js.
export const TEXTS = {
  ru: {
    title: "Табло смены", skipToFeed: "К ленте событий", region: "Регион", channel: "Канал",
    office: "Офис", regionOffice: "Регион / офис", all: "Все", yourName: "Ваше имя", logout: "Выйти", loginTitle: "Вход",
    loginHelp: "Введите API-ключ с правом чтения (read).", loginFailed: "Ключ не подошёл.",
    apiKey: "API-ключ", login: "Войти", queues: "Очереди", waiting: "Ждут",
    longest: "Дольше всех", sl15: "Уровень сервиса, 15 мин", slToday: "Уровень сервиса, сегодня",
    asa: "Ср. ожидание ответа", abandon: "Доля потерянных", breachesToday: "Нарушений сегодня",
    noData: "Данных пока нет.", atRisk: "Под угрозой", noRisks: "Никто не ждёт дольше нормы.",
    feed: "Нарушения и предупреждения", noAlerts: "Нарушений нет.",
    staffing: "Нужно операторов (Эрланг C)", queue: "Очередь", callsHour: "Звонков за час",
    aht: "Ср. время обработки", needed: "Нужно", active: "Работают", noCalls: "Звонков за последний час нет.",
    connecting: "Подключение…", live: "В эфире", offline: "Нет связи, переподключение…",
    breached: "Нарушение", warning: "Предупреждение", overdue: "просрочено на",
    left: "осталось", due: "срок", ack: "Принять", acked: "Принято", by: "кто",
    followUp: "Дальше", calledBack: "Перезвонили", escalated: "Эскалировано",
    storm: "Всплеск обращений: возможна авария", stormText: "{count} звонков за окно при норме {baseline}",
    regionStorms: "Всплески всех организаций региона", everyTenant: "все организации региона",
    contact: "Обращение", milestone: "Норматив", enter: "Указать", agentsPrompt: "Сколько операторов работает?",
    fromEvents: "по событиям", entered: "указано", target: "цель {sl}% за {t} с",
    warnAt: "{pct}% срока", phone: "Телефон", email: "Эл. почта", web: "Веб-форма",
    in_person: "Очно", post: "Почта", messenger: "Мессенджер", stale: "устарело",
    ackFailed: "Не удалось записать действие, повторите.",
    category: "Категория", priority: "Льготные (все)", disabled: "Инвалиды",
    veteran: "Ветераны", vulnerable: "Соц. незащищённые", standard: "Остальные",
    plan: "План на сегодня: прогноз и операторы", interval: "Интервал", forecastCalls: "Прогноз звонков",
    actualCalls: "Факт", agentsC: "Эрланг C", agentsA: "Эрланг A", rostered: "В смену",
    expectedSl: "Ожид. уровень сервиса", expectedAbandon: "Ожид. доля потерянных",
    noPlan: "Для плана пока нет истории звонков.", nowInterval: "сейчас",
    planHint: "Прогноз по истории тех же дней недели (с учётом праздников), поправлен по тому, как идёт сегодня; Эрланг A учитывает положивших трубку. «В смену» — с учётом перерывов и обучения.",
  },
  en: {
    title: "Shift board", skipToFeed: "Skip to the feed", region: "Region", channel: "Channel",
    office: "Office", regionOffice: "Region / office", all: "All", yourName: "Your name", logout: "Log out", loginTitle: "Log in",
    loginHelp: "Enter an API key with the read scope.", loginFailed: "That key did not work.",
    apiKey: "API key", login: "Log in", queues: "Queues", waiting: "Waiting",
    longest: "Longest wait", sl15: "Service level, 15 min", slToday: "Service level, today",
    asa: "ASA", abandon: "Abandon rate", breachesToday: "Breaches today",
    noData: "No data yet.", atRisk: "At risk", noRisks: "Nobody is past a warning.",
    feed: "Breaches and warnings", noAlerts: "No breaches.",
    staffing: "Agents needed (Erlang C)", queue: "Queue", callsHour: "Calls last hour",
    aht: "Avg handle time", needed: "Needed", active: "Active", noCalls: "No calls in the last hour.",
    connecting: "Connecting…", live: "Live", offline: "Offline, reconnecting…",
    breached: "Breach", warning: "Warning", overdue: "overdue by", left: "left", due: "due",
    ack: "Acknowledge", acked: "Acknowledged", by: "by", followUp: "Follow-up",
    calledBack: "Called back", escalated: "Escalated",
    storm: "Contact surge: possible outage", stormText: "{count} calls in the window, usually {baseline}",
    regionStorms: "Storms of every tenant in the region", everyTenant: "every tenant of the region",
    contact: "Contact", milestone: "Milestone", enter: "Enter", agentsPrompt: "How many agents are working?",
    fromEvents: "from events", entered: "entered", target: "target {sl}% in {t} s",
    warnAt: "{pct}% of the target", phone: "Phone", email: "Email", web: "Web form",
    in_person: "In person", post: "Post", messenger: "Messenger", stale: "stale",
    ackFailed: "Could not record the action, try again.",
    category: "Category", priority: "Priority (all)", disabled: "Disabled",
    veteran: "Veterans", vulnerable: "Vulnerable", standard: "Everyone else",
    plan: "Today's plan: forecast and agents", interval: "Interval", forecastCalls: "Forecast calls",
    actualCalls: "Actual", agentsC: "Erlang C", agentsA: "Erlang A", rostered: "To roster",
    expectedSl: "Expected service level", expectedAbandon: "Expected abandon rate",
    noPlan: "No call history to plan from yet.", nowInterval: "now",
    planHint: "Forecast from the same weekdays of recent weeks (holidays as the days they behave like), corrected by how today is running; Erlang A counts callers who hang up. \"To roster\" adds breaks and training.",
  },
};

// Milestones of the built-in policies (streams/sla/presets); other ids are shown as they are.
export const MILESTONES = {
  ru: {
    "phone.answer": "Ответ оператора", "email.dispatch": "Регистрация письма",
    "office.wait": "Очередь в офисе", "callback": "Обратный звонок",
    "written.answer": "Письменный ответ", "complaint.status": "Статус жалобы",
  },
  en: {
    "phone.answer": "Operator answer", "email.dispatch": "Email registration",
    "office.wait": "Office queue", "callback": "Call-back",
    "written.answer": "Written answer", "complaint.status": "Complaint status",
  },
};

export function fmt(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (k in values ? String(values[k]) : ""));
}
