import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// `npm run dev` proxies the API to a local `gridcase serve` (GRIDCASE_URL, default :8080).
export default defineConfig({
  plugins: [vue()],
  build: {
    target: 'es2020',
    chunkSizeWarningLimit: 800,
    rollupOptions: {
      output: {
        manualChunks(id) {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'charts';
          if (id.includes('node_modules')) return 'vendor';
        },
      },
    },
  },
  server: {
    proxy: { '/v1': process.env.GRIDCASE_URL ?? 'http://127.0.0.1:8080' },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
} as any);
