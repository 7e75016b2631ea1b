// Builds dist/main.js, the bundle Mattermost loads for this plugin: one IIFE file, with React taken
// from the page (Mattermost provides window.React) and the core (webapp/pkg, from
// scripts/build-core.sh) bundled in.
import {defineConfig} from 'vite';

export default defineConfig({
    build: {
        lib: {
            entry: 'src/index.jsx',
            formats: ['iife'],
            name: 'SocketModePlugin',
            fileName: () => 'main.js',
        },
        outDir: 'dist',
        emptyOutDir: true,
        target: 'es2020',
        rollupOptions: {
            external: ['react'],
            output: {globals: {react: 'React'}},
        },
    },
    esbuild: {jsx: 'transform', jsxFactory: 'React.createElement', jsxFragment: 'React.Fragment'},
});
