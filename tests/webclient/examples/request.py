from glisten.internet import reactor
from glisten.web.client import Agent
from glisten.web.http_headers import Headers

agent = Agent(reactor)

d = agent.request(
    b"GET",
    b"http://example.com/",
    Headers({"User-Agent": ["Twisted Web Client Example"]}),
    None,
)


def cbResponse(ignored):
    print("Response received")


d.addCallback(cbResponse)


def cbShutdown(ignored):
    reactor.stop()


d.addBoth(cbShutdown)

reactor.run()
