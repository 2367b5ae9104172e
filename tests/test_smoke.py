from tests.conftest import html


async def test_login_page_is_chinese(anon):
    response = await anon.get("/login")
    assert response.status_code == 200
    page = html(response)
    assert page.html["lang"] == "zh-CN"
    assert page.find("h1").get_text() == "登录"
    assert page.find("label", attrs={"for": "f-username"}).get_text() == "用户名"


async def test_healthz_checks_database(anon):
    response = await anon.get("/healthz")
    assert response.json() == {"status": "ok"}


async def test_office_sees_own_conferences(as_user):
    client = await as_user("office")
    response = await client.get("/")
    names = [a.get_text() for a in html(response).select(".conference-list a")]
    assert "兰山区城市基层党建联席会议" in names
    assert "兰山街道城市基层党建联席会议" in names
    assert "罗庄街道城市基层党建联席会议" not in names
