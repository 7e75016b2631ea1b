// A bot on the JavaScript Socket Mode library for delivery_bench_test.go: answers every choice
// in the menu "pick" as the benchmark's other bots do, in its acknowledgement on the websocket.
// stdout: "ready <connection_id>" once subscribed.
//
//   MM_URL=... MM_BOT_TOKEN=... [NAGLE_REMEDY=0: the library's Nagle remedy off] node benchbot.mjs

import {App} from 'mattermost-socket-mode';

const app = new App({url: process.env.MM_URL, token: process.env.MM_BOT_TOKEN,
    nagleRemedy: process.env.NAGLE_REMEDY !== '0', logLevel: 'warn'});

app.menu('pick', (event, {value}) => ({
    update: {message: `Deployed ${value} for @${event.user_name}`},
    ephemeral_text: `Deploying ${value}.`,
}));

const subscribed = await app.start();
process.stdout.write(`ready ${subscribed.connection_id}\n`);
await app.run();
